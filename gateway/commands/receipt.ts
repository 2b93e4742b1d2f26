import { existsSync, readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet } from 'jose';
import { getReceipt } from '../repositories/receipts.ts';
import { checkReceipt, SigningKeys } from '../services/ledger/index.ts';
import type { CommandContext } from './context.ts';

/**
 * `warden receipt verify <file or transaction id>`: checks a receipt's signature against the JWK Set
 * (the gateway's own, or `--jwks` as a verifier outside would), that its payload names the
 * transaction asked about and that transaction's workspace (DESIGN §9), and its inclusion in its
 * workspace's ledger log: stored as issued, appended, and its audit path leading to the root of a
 * checkpoint signed by the same key set (the gateway's newest, or `--checkpoint <file>`: the JSON of
 * GET /v1/ledger/checkpoint or the compact JWS, one an auditor kept). The transaction asked about is the id given; for a file, `--transaction`, else the
 * `transactionId` of the JSON of GET /agp/receipts/:id; a file holding only the compact JWS, without
 * `--transaction`, is checked against the transaction it names. Exits 1 when anything fails.
 */
export async function receiptVerify(
  ctx: CommandContext,
  target: string,
  options: { jwks?: string; transaction?: string; checkpoint?: string },
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
  const checkpoint = options.checkpoint === undefined ? undefined : readCheckpointFile(options.checkpoint);
  const { valid, signature, names, log } = await checkReceipt(
    ctx.db.reader,
    read.jws,
    keys,
    transactionId === undefined ? {} : { transactionId },
    checkpoint,
  );
  ctx.out(JSON.stringify({ valid, signature, names, log }));
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

/** A checkpoint kept in a file: the compact JWS, or the JSON of GET /v1/ledger/checkpoint. */
function readCheckpointFile(path: string): string {
  const text = readFileSync(path, 'utf8').trim();
  if (!text.startsWith('{')) return text;
  const parsed = JSON.parse(text) as { checkpoint?: unknown };
  if (typeof parsed.checkpoint !== 'string') throw new Error(`${path} holds no checkpoint.`);
  return parsed.checkpoint;
}
