import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { canonicalHash } from '../../../policy/canonical.ts';
import { sha256Hex, signCompact } from '../../crypto/jws.ts';
import { leafHash, verifyInclusion } from '../../crypto/merkle.ts';
import type { Conn } from '../../db/types.ts';
import { GatewayError, type Transaction, type TransactionStatus } from '../../domain/index.ts';
import { approversOf } from '../../repositories/approvals.ts';
import type { StoredCheckpoint } from '../../repositories/ledger-log.ts';
import { getReceipt, insertReceipt } from '../../repositories/receipts.ts';
import { getTransaction, getTransactionById } from '../../repositories/transactions.ts';
import type { Deps, ServiceContext } from '../context.ts';
import { workspaceOf } from '../context.ts';
import { CHECKPOINT_TYP, type CheckpointPayload, entryBytes, logPlace } from './ledger-log.ts';

/**
 * What a receipt says (DESIGN §9, normative fields). Version 2 names no other receipt; version 1
 * receipts, written before the ledger log, named the previous one of their workspace (`prev`).
 */
export interface ReceiptPayload {
  v: 1 | 2;
  transactionId: string;
  workspaceId: string;
  agentId: string;
  businessId: string | null;
  operation: string;
  status: TransactionStatus;
  amount: number | null;
  currency: string | null;
  requestHash: string;
  responseHash: string | null;
  decision: { outcome: string; ruleId: string | null; policy: { name: string; version: number | null } };
  approvers: string[];
  issuedAt: string;
  /**
   * Issue 24: the W3C trace id of the request that made the transaction, when it was traced (the
   * agent's `traceparent`, or the gateway's own trace when it exports one). Beside DESIGN §9's
   * fields, which a payload carries "at least".
   */
  traceId?: string;
  /** Version 1 only. */
  prev?: string | null;
}

/** The statuses a receipt is issued for: the business (or the evaluating system) has settled it. */
export const RECEIPTED: ReadonlySet<TransactionStatus> = new Set([
  'succeeded',
  'failed',
  'pending_confirmation',
]);

/** The JWS `typ` of a receipt (RFC 7515 §4.1.9, explicit typing as RFC 8725 §3.11 advises). */
export const RECEIPT_TYP = 'warden-receipt+jws';

interface StoredDecision {
  outcome?: unknown;
  ruleId?: unknown;
  policy?: { name?: unknown; version?: unknown };
}

export type ReceiptSubject = Pick<
  Transaction,
  | 'id'
  | 'workspaceId'
  | 'agentId'
  | 'businessId'
  | 'operation'
  | 'status'
  | 'amount'
  | 'currency'
  | 'requestHash'
  | 'data'
  | 'decision'
  | 'policyName'
  | 'approvalId'
> & { traceId?: string | null };

/** The payload of the receipt of a settled transaction (version 2: it names no other receipt). */
export function receiptClaims(txn: ReceiptSubject, approvers: string[], at: number): ReceiptPayload {
  const decision = (txn.decision ?? {}) as StoredDecision;
  return {
    v: 2,
    transactionId: txn.id,
    workspaceId: txn.workspaceId,
    agentId: txn.agentId,
    businessId: txn.businessId,
    operation: txn.operation,
    status: txn.status,
    amount: txn.amount,
    currency: txn.currency,
    requestHash: txn.requestHash,
    responseHash: txn.data === null || txn.data === undefined ? null : canonicalHash(txn.data),
    decision: {
      outcome: typeof decision.outcome === 'string' ? decision.outcome : 'auto_approve',
      ruleId: typeof decision.ruleId === 'string' ? decision.ruleId : null,
      policy: {
        name:
          typeof decision.policy?.name === 'string' ? decision.policy.name : (txn.policyName ?? 'default'),
        version: typeof decision.policy?.version === 'number' ? decision.policy.version : null,
      },
    },
    approvers,
    issuedAt: new Date(at).toISOString(),
    ...(txn.traceId ? { traceId: txn.traceId } : {}),
  };
}

/**
 * Signs the receipt of a settled transaction and stores it, in `tx`, the transaction that records
 * the outcome (DESIGN §9). It reads and waits for no other receipt, so it takes no lock: a trigger
 * queues it for the ledger log, which orders it after the commit. A transaction never gets two
 * receipts (the primary key): a second attempt answers the first.
 */
export async function issueReceipt(tx: Conn, deps: Deps, txn: ReceiptSubject, at: number): Promise<string> {
  const approvers = txn.approvalId ? await approversOf(tx, txn.approvalId) : [];
  const payload = receiptClaims(txn, approvers, at);
  const { kid, key } = deps.signingKeys.current();
  const jws = signCompact({ kid, typ: RECEIPT_TYP }, JSON.stringify(payload), key);
  const written = await insertReceipt(tx, {
    transactionId: txn.id,
    workspaceId: txn.workspaceId,
    seq: null,
    jws,
    hash: sha256Hex(jws),
    createdAt: at,
  });
  if (written) return jws;
  const existing = await getReceipt(tx, txn.id);
  if (existing) return existing.jws;
  throw new Error(`The receipt of ${txn.id} was neither written nor found.`);
}

/** The payload of a compact JWS, as JSON (the signature is not checked here: it is our own row). */
export function receiptPayload(jws: string): ReceiptPayload {
  const [, body = ''] = jws.split('.');
  return JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as ReceiptPayload;
}

/** The transaction and workspace a receipt is asked about. */
export interface ReceiptOf {
  transactionId: string;
  workspaceId: string;
}

/**
 * Why a receipt is not the receipt of `of` (DESIGN §9: its payload names the transaction asked
 * about, and that transaction's workspace); null when it is. A receipt is another's when a stored
 * row was swapped or copied, or a file holds another transaction's receipt: its signature still holds.
 */
export function misnamed(jws: string, of: ReceiptOf): string | null {
  let payload: Partial<ReceiptPayload>;
  try {
    payload = receiptPayload(jws);
  } catch {
    return 'The receipt is not a compact JWS with a JSON payload.';
  }
  if (payload.transactionId !== of.transactionId) {
    return `The receipt names transaction ${String(payload.transactionId)}, not ${of.transactionId}: it is another transaction's receipt.`;
  }
  if (payload.workspaceId !== of.workspaceId) {
    return `The receipt names workspace ${String(payload.workspaceId)}, not ${of.workspaceId}, the workspace of ${of.transactionId}.`;
  }
  return null;
}

/**
 * The stored receipt of a transaction, served only when its payload names that transaction and
 * workspace: a row that names another is an integrity failure, logged, and never answered as this
 * transaction's receipt. Undefined when there is none yet.
 */
export async function readReceipt(
  ctx: ServiceContext,
  of: ReceiptOf,
): Promise<{ jws: string; payload: ReceiptPayload } | { misnamed: string } | undefined> {
  const stored = await getReceipt(ctx.deps.db.reader, of.transactionId);
  if (!stored) return undefined;
  const why = misnamed(stored.jws, of);
  if (why === null) return { jws: stored.jws, payload: receiptPayload(stored.jws) };
  ctx.deps.logger.error(
    { transactionId: of.transactionId, workspaceId: of.workspaceId, reason: why },
    'the stored receipt names another transaction or workspace: not served',
  );
  return { misnamed: why };
}

/**
 * GET /agp/receipts/:transactionId and /v1/receipts/:transactionId (DESIGN §9), with the receipt's
 * place in the ledger log once appended; another workspace's transaction does not exist.
 */
export async function getReceiptOf({ ctx, transactionId }: { ctx: ServiceContext; transactionId: string }) {
  const workspaceId = workspaceOf(ctx);
  const txn = await getTransaction(ctx.deps.db.reader, workspaceId, transactionId);
  if (!txn) throw new GatewayError('TRANSACTION_NOT_FOUND', `No transaction ${transactionId}.`);
  const read = await readReceipt(ctx, { transactionId, workspaceId });
  if (!read) {
    throw new GatewayError(
      'RECEIPT_NOT_FOUND',
      `Transaction ${transactionId} has no receipt: it has not settled (status ${txn.status}).`,
      { transactionId, status: txn.status },
    );
  }
  if ('misnamed' in read) {
    // Not the other transaction's id: it may belong to another workspace. The log has it.
    throw new GatewayError(
      'INTERNAL_ERROR',
      `The receipt stored for transaction ${transactionId} names another transaction or workspace, so it is not served: the ledger has been altered. An operator can check it with \`warden receipt verify ${transactionId}\`.`,
    );
  }
  const log = await logPlace(ctx.deps.db.reader, workspaceId, 'receipt', transactionId);
  return { transactionId, receipt: read.jws, payload: read.payload, log };
}

/** A checkpoint checked: its signature against the key set, and whose log it signs. */
export interface CheckpointCheck {
  valid: boolean;
  kid?: string;
  size?: number;
  root?: string;
  error?: string;
}

/** Checks a checkpoint's signature and `typ`, and that it signs `workspaceId`'s log. */
export async function checkCheckpoint(
  jws: string,
  keys: Keys,
  workspaceId: string,
): Promise<{ check: CheckpointCheck; payload?: CheckpointPayload }> {
  try {
    const { protectedHeader, payload } = await compactVerify(jws, keys, { algorithms: ['EdDSA'] });
    if (protectedHeader.typ !== CHECKPOINT_TYP) {
      return { check: { valid: false, error: `The checkpoint's typ is not ${CHECKPOINT_TYP}.` } };
    }
    const claims = JSON.parse(new TextDecoder().decode(payload)) as CheckpointPayload;
    if (claims.workspaceId !== workspaceId) {
      const error = `The checkpoint signs the log of workspace ${claims.workspaceId}, not ${workspaceId}.`;
      return { check: { valid: false, error } };
    }
    const { kid } = protectedHeader;
    return {
      check: { valid: true, ...(kid ? { kid } : {}), size: claims.size, root: claims.root },
      payload: claims,
    };
  } catch (error) {
    return { check: { valid: false, error: error instanceof Error ? error.message : String(error) } };
  }
}

/** A receipt's place in its workspace's ledger log, checked under a checkpoint. */
export interface ReceiptLogCheck {
  /** The receipt is appended to the log and its audit path leads to the checkpoint's root. */
  included: boolean;
  /** False while the receipt waits for the sequencer (or when the checkpoint predates it). */
  appended: boolean;
  index: number | null;
  size: number | null;
  checkpoint: CheckpointCheck | null;
  error?: string;
}

/**
 * Checks that `jws` is leaf `place.index` of the tree the checkpoint signs, with the audit path
 * given: nothing but the receipt, the proof, the checkpoint and the key set (an auditor offline).
 */
export async function checkInclusion(
  jws: string,
  place: { index: number; inclusionProof: readonly string[]; checkpoint: string },
  keys: Keys,
  workspaceId: string,
): Promise<ReceiptLogCheck> {
  const { check, payload } = await checkCheckpoint(place.checkpoint, keys, workspaceId);
  const base = { appended: true, index: place.index, size: payload?.size ?? null, checkpoint: check };
  if (!payload) return { included: false, ...base, error: check.error };
  const leaf = leafHash(entryBytes({ kind: 'receipt', ref: '', jws, hash: null }));
  const proof = place.inclusionProof.map((h) => Buffer.from(h, 'hex'));
  const included = verifyInclusion(leaf, place.index, payload.size, proof, Buffer.from(payload.root, 'hex'));
  return included
    ? { included, ...base }
    : {
        included,
        ...base,
        error: `The audit path does not lead from the receipt, leaf ${place.index}, to the root the checkpoint signs.`,
      };
}

/**
 * The receipt's place in this database's log under a checkpoint (the gateway's newest, or
 * `checkpoint`, one an auditor kept), checked as an outsider would check it.
 */
export async function checkLogPlace(
  conn: Conn,
  jws: string,
  keys: Keys,
  of: { transactionId: string; workspaceId: string },
  checkpoint?: string,
): Promise<ReceiptLogCheck> {
  const none = { included: false, appended: false, index: null, size: null, checkpoint: null };
  const stored = await getReceipt(conn, of.transactionId);
  if (!stored || stored.jws !== jws) {
    return { ...none, appended: true, error: `This receipt is not the one stored for ${of.transactionId}.` };
  }
  let under: StoredCheckpoint | undefined;
  if (checkpoint !== undefined) {
    const { check, payload } = await checkCheckpoint(checkpoint, keys, of.workspaceId);
    if (!payload) return { ...none, appended: true, checkpoint: check, error: check.error };
    under = {
      workspaceId: of.workspaceId,
      size: payload.size,
      root: payload.root,
      jws: checkpoint,
      issuedAt: Date.parse(payload.issuedAt),
    };
  }
  const place = await logPlace(conn, of.workspaceId, 'receipt', of.transactionId, under);
  if (!place) {
    return {
      ...none,
      error: under
        ? `The receipt is not among the ${under.size} entries the checkpoint signs.`
        : 'The receipt is not appended to the ledger log yet (the sequencer appends within LEDGER_SEQUENCE_MS).',
    };
  }
  return checkInclusion(jws, place, keys, of.workspaceId);
}

type Keys = Parameters<typeof compactVerify>[1];

/** A receipt checked: its signature against a key set, whom it names, its place in the log. */
export interface ReceiptCheck {
  valid: boolean;
  signature: { valid: boolean; kid?: string; error?: string };
  /**
   * Whether the payload names the transaction asked about and that transaction's workspace
   * (null when the signature fails: then nothing the payload says counts).
   */
  names: { valid: boolean; transactionId: string; workspaceId: string | null; error?: string } | null;
  log: ReceiptLogCheck | null;
}

/**
 * Checks a receipt as `warden receipt verify` does (DESIGN §9): the EdDSA signature against `keys`
 * (the gateway's JWK Set, or one a verifier outside holds); that its payload names the transaction
 * asked about (`of.transactionId`; without one, the transaction it names itself) and that
 * transaction's workspace (`of.workspaceId`, else the one its row in this database belongs to);
 * then its inclusion in the workspace's ledger log under a checkpoint (the newest, or `checkpoint`).
 */
export async function checkReceipt(
  conn: Conn,
  jws: string,
  keys: Keys,
  of: { transactionId?: string; workspaceId?: string } = {},
  checkpoint?: string,
): Promise<ReceiptCheck> {
  const signature = await checkSignature(jws, keys);
  if (!signature.valid) return { valid: false, signature, names: null, log: null };
  let named: unknown;
  try {
    named = (receiptPayload(jws) as Partial<ReceiptPayload>).transactionId;
  } catch {
    // Signed by a key of the set, but not a JSON payload: not a receipt (below).
  }
  const transactionId = of.transactionId ?? (typeof named === 'string' ? named : '');
  if (typeof named !== 'string' || transactionId === '') {
    const error = 'The payload names no transaction: this is not a receipt.';
    return {
      valid: false,
      signature,
      names: { valid: false, transactionId, workspaceId: null, error },
      log: null,
    };
  }
  const workspaceId = of.workspaceId ?? (await getTransactionById(conn, transactionId))?.workspaceId ?? null;
  const error =
    workspaceId === null
      ? `No transaction ${transactionId} in this database.`
      : misnamed(jws, { transactionId, workspaceId });
  const names: NonNullable<ReceiptCheck['names']> = {
    valid: error === null,
    transactionId,
    workspaceId,
    ...(error === null ? {} : { error }),
  };
  // The log is checked where the receipt itself says it belongs: a swapped row is found either way.
  const payloadWorkspace = receiptPayload(jws).workspaceId;
  const log =
    typeof payloadWorkspace === 'string'
      ? await checkLogPlace(
          conn,
          jws,
          keys,
          { transactionId: named, workspaceId: payloadWorkspace },
          checkpoint,
        )
      : null;
  const valid = names.valid && log?.included === true;
  return { valid, signature, names, log };
}

/** The receipt's EdDSA signature against a key set. */
async function checkSignature(jws: string, keys: Keys): Promise<ReceiptCheck['signature']> {
  try {
    const { protectedHeader } = await compactVerify(jws, keys, { algorithms: ['EdDSA'] });
    return { valid: true, kid: protectedHeader.kid };
  } catch (error) {
    return { valid: false, error: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * A receipt checked with nothing but what a gateway serves (`warden receipt verify --url`): the
 * signature against its published keys, that the payload names the transaction asked about, and
 * its inclusion with the audit path and checkpoint given (GET /v1/receipts/:id), the checkpoint
 * signed by the same keys for the workspace the receipt names. No database.
 */
export async function checkServedReceipt(
  jws: string,
  keys: Keys,
  transactionId: string,
  place: { index: number; inclusionProof: readonly string[]; checkpoint: string } | null,
): Promise<ReceiptCheck> {
  const signature = await checkSignature(jws, keys);
  if (!signature.valid) return { valid: false, signature, names: null, log: null };
  let payload: Partial<ReceiptPayload> = {};
  try {
    payload = receiptPayload(jws);
  } catch {
    // Signed by a key of the set, but not a JSON payload: not a receipt (below).
  }
  const workspaceId = typeof payload.workspaceId === 'string' ? payload.workspaceId : null;
  const error =
    payload.transactionId !== transactionId
      ? `The receipt names ${String(payload.transactionId ?? 'no transaction')}, not ${transactionId}.`
      : workspaceId === null
        ? 'The payload names no workspace: this is not a receipt.'
        : null;
  const names = { valid: error === null, transactionId, workspaceId, ...(error === null ? {} : { error }) };
  const log: ReceiptLogCheck | null =
    workspaceId === null
      ? null
      : place
        ? await checkInclusion(jws, place, keys, workspaceId)
        : {
            included: false,
            appended: false,
            index: null,
            size: null,
            checkpoint: null,
            error:
              'The receipt is not appended to the ledger log yet (the sequencer appends within LEDGER_SEQUENCE_MS).',
          };
  return { valid: names.valid && log?.included === true, signature, names, log };
}

/**
 * The receipt stored for a transaction of the workspace, checked against the gateway's own keys and
 * against the transaction asked about (a row holding another's receipt does not verify); null if
 * none yet.
 */
export async function verifyReceiptOf({
  ctx,
  transactionId,
}: {
  ctx: ServiceContext;
  transactionId: string;
}) {
  const reader = ctx.deps.db.reader;
  const workspaceId = workspaceOf(ctx);
  const txn = await getTransaction(reader, workspaceId, transactionId);
  if (!txn) throw new GatewayError('TRANSACTION_NOT_FOUND', `No transaction ${transactionId}.`);
  const stored = await getReceipt(reader, transactionId);
  if (!stored) return null;
  const keys = createLocalJWKSet((await ctx.deps.signingKeys.jwks()) as unknown as JSONWebKeySet);
  const check = await checkReceipt(reader, stored.jws, keys, { transactionId, workspaceId });
  // Another transaction's receipt is not shown as this one's: it may be another workspace's.
  const own = check.names?.valid !== false;
  return {
    receipt: own ? stored.jws : null,
    payload: own ? receiptPayload(stored.jws) : null,
    ...check,
  };
}
