import { existsSync, readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet } from 'jose';
import { getReceipt } from '../repositories/receipts.ts';
import {
  checkReceipt,
  checkServedReceipt,
  type ReceiptCheck,
  SigningKeys,
} from '../services/ledger/index.ts';
import { CliError, callApi, EXIT, type RemoteOptions, seg } from './api.ts';
import type { CommandContext } from './context.ts';
import { line, paint, printJson } from './output.ts';

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
  options: { jwks?: string; transaction?: string; checkpoint?: string; json?: boolean },
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
    ? keySet(jwksSource)
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
  printReceiptVerdict({ valid, signature, names, log }, options.json === true, 'this database');
  return valid ? 0 : 1;
}

/** A JWK Set from a URL (fetched) or a file. */
const keySet = (source: string) =>
  /^https?:\/\//.test(source)
    ? createRemoteJWKSet(new URL(source))
    : createLocalJWKSet(JSON.parse(readFileSync(source, 'utf8')) as JSONWebKeySet);

/**
 * `warden receipt verify <transaction id> --url <gateway> --token <member token>`: from anywhere,
 * with nothing but what the gateway serves. The receipt, its audit path and checkpoint come from
 * GET /v1/receipts/:id; the keys from its /.well-known/warden-keys (or `--jwks`, keys kept
 * elsewhere, which is stronger: a gateway that lies can also publish its own keys).
 */
export async function receiptVerifyRemote(
  transactionId: string,
  options: RemoteOptions & { jwks?: string },
): Promise<number> {
  const served = await callApi<{
    receipt: string;
    log: { index: number; inclusionProof: string[]; checkpoint: string } | null;
  }>(options, 'GET', `/v1/receipts/${seg(transactionId)}`);
  const keys = keySet(options.jwks ?? `${options.url}/.well-known/warden-keys`);
  const check = await checkServedReceipt(served.receipt, keys, transactionId, served.log);
  printReceiptVerdict(check, options.json === true, options.url);
  return check.valid ? 0 : 1;
}

/** The verdict as a person reads it (or `--json`: `{valid, signature, names, log}`). */
function printReceiptVerdict(check: ReceiptCheck, json: boolean, where: string): void {
  if (json) {
    printJson(check);
    return;
  }
  const { signature, names, log } = check;
  const asked = names?.transactionId ? ` of ${names.transactionId}` : '';
  line(
    check.valid
      ? `${paint('green', 'VALID')}  the receipt${asked} is signed, names its transaction, and is in the ledger log (${where}).`
      : `${paint('red', 'INVALID')}  the receipt${asked} does not verify (${where}).`,
  );
  const mark = (ok: boolean | undefined) => (ok ? paint('green', 'ok  ') : paint('red', 'FAIL'));
  line(
    `  ${mark(signature.valid)} signature   ${signature.valid ? `key ${signature.kid ?? '(no kid)'}` : (signature.error ?? '')}`,
  );
  if (names) {
    line(
      `  ${mark(names.valid)} names       ${names.valid ? `${names.transactionId} in ${names.workspaceId}` : (names.error ?? '')}`,
    );
  }
  if (log) {
    line(
      `  ${mark(log.included)} ledger log  ${log.included ? `leaf ${log.index} of ${log.size}, under a checkpoint signed by key ${log.checkpoint?.kid ?? '(no kid)'}` : (log.error ?? '')}`,
    );
  }
}

/** `--checkpoint` names a file this host reads; with `--url` there is no such thing to compare. */
export function refuseRemoteCheckpoint(): never {
  throw new CliError(
    '--checkpoint works on the gateway host only; with --url the newest checkpoint is checked.',
    'USAGE',
    EXIT.usage,
  );
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
