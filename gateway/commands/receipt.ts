import { existsSync, readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet } from 'jose';
import { getReceipt } from '../repositories/receipts.ts';
import { checkReceipt, SigningKeys } from '../services/ledger/index.ts';
import type { CommandContext } from './context.ts';

/**
 * `warden receipt verify <file or transaction id>`: checks a receipt's signature against the JWK Set
 * (the gateway's own, or `--jwks` as a verifier outside would), that its payload names the
 * transaction asked about and that transaction's workspace (DESIGN §9), and its place in its
 * workspace's chain: stored as issued, its `prev` naming the receipt before it, the next one naming
 * it. The transaction asked about is the id given; for a file, `--transaction`, else the
 * `transactionId` of the JSON of GET /agp/receipts/:id; a file holding only the compact JWS, without
 * `--transaction`, is checked against the transaction it names. Exits 1 when anything fails.
 */
export async function receiptVerify(
  ctx: CommandContext,
  target: string,
  options: { jwks?: string; transaction?: string },
): Promise<number> {
  const jwksSource = options.jwks;
  const read = await readReceipt(ctx, target);
  if (!read) {
    ctx.err(`No receipt found for ${target}.`);
    return 1;
  }
  if (read.byId && options.transaction !== undefined && options.transaction !== target) {
    ctx.err(`--transaction ${options.transaction} names another transaction than ${target}.`);
    return 2;
  }
  const keys = jwksSource
    ? /^https?:\/\//.test(jwksSource)
      ? createRemoteJWKSet(new URL(jwksSource))
      : createLocalJWKSet(JSON.parse(readFileSync(jwksSource, 'utf8')) as JSONWebKeySet)
    : createLocalJWKSet((await new SigningKeys(ctx.db, ctx.sealer).jwks()) as unknown as JSONWebKeySet);
  const transactionId = read.byId ? target : (options.transaction ?? read.asked);
  const { valid, signature, names, chain } = await checkReceipt(
    ctx.db.reader,
    read.jws,
    keys,
    transactionId === undefined ? {} : { transactionId },
  );
  ctx.out(JSON.stringify({ valid, signature, names, chain }));
  return valid ? 0 : 1;
}

/** The receipt to check, and the transaction it was read as the receipt of (if the target says). */
async function readReceipt(
  ctx: CommandContext,
  target: string,
): Promise<{ jws: string; asked?: string; byId?: true } | undefined> {
  if (existsSync(target)) {
    const text = readFileSync(target, 'utf8').trim();
    if (!text.startsWith('{')) return { jws: text };
    const parsed = JSON.parse(text) as { receipt?: unknown; transactionId?: unknown };
    if (typeof parsed.receipt !== 'string') return undefined;
    return {
      jws: parsed.receipt,
      ...(typeof parsed.transactionId === 'string' ? { asked: parsed.transactionId } : {}),
    };
  }
  // The row stored for this id: whatever it holds must name this transaction.
  const stored = await getReceipt(ctx.db.reader, target);
  return stored ? { jws: stored.jws, byId: true } : undefined;
}
