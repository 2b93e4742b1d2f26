import { existsSync, readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet } from 'jose';
import { getReceipt } from '../repositories/receipts.ts';
import { checkReceipt } from '../services/receipts.ts';
import { SigningKeys } from '../services/signing-keys.ts';
import type { CommandContext } from './context.ts';

/**
 * `warden receipt verify <file or transaction id>`: checks a receipt's signature against the JWK Set
 * (the gateway's own, or `--jwks` as a verifier outside would), and its place in its workspace's
 * chain: stored as issued, its `prev` naming the receipt before it, the next one naming it. The file
 * holds the compact JWS, or the JSON of GET /agp/receipts/:id. Exits 1 when anything fails.
 */
export async function receiptVerify(
  ctx: CommandContext,
  target: string,
  options: { jwks?: string },
): Promise<number> {
  const jwksSource = options.jwks;
  const jws = await readReceipt(ctx, target);
  if (!jws) {
    ctx.err(`No receipt found for ${target}.`);
    return 1;
  }
  const keys = jwksSource
    ? /^https?:\/\//.test(jwksSource)
      ? createRemoteJWKSet(new URL(jwksSource))
      : createLocalJWKSet(JSON.parse(readFileSync(jwksSource, 'utf8')) as JSONWebKeySet)
    : createLocalJWKSet((await new SigningKeys(ctx.db, ctx.sealer).jwks()) as unknown as JSONWebKeySet);
  const { valid, signature, chain } = await checkReceipt(ctx.db.reader, jws, keys);
  ctx.out(JSON.stringify({ valid, signature, chain }));
  return valid ? 0 : 1;
}

async function readReceipt(ctx: CommandContext, target: string): Promise<string | undefined> {
  if (existsSync(target)) {
    const text = readFileSync(target, 'utf8').trim();
    if (!text.startsWith('{')) return text;
    const parsed = JSON.parse(text) as { receipt?: unknown };
    return typeof parsed.receipt === 'string' ? parsed.receipt : undefined;
  }
  return (await getReceipt(ctx.db.reader, target))?.jws;
}
