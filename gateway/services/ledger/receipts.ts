import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { canonicalHash } from '../../../policy/canonical.ts';
import { sha256Hex, signCompact } from '../../crypto/jws.ts';
import type { Conn } from '../../db/types.ts';
import { GatewayError, type Transaction, type TransactionStatus } from '../../domain/index.ts';
import { approversOf } from '../../repositories/approvals.ts';
import { getReceipt, insertReceipt, receiptAt, receiptHead } from '../../repositories/receipts.ts';
import { getTransaction, getTransactionById } from '../../repositories/transactions.ts';
import type { Deps, ServiceContext } from '../context.ts';
import { workspaceOf } from '../context.ts';

/** What a receipt says (DESIGN §9, normative fields; `v` 1). */
export interface ReceiptPayload {
  v: 1;
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
  prev: string | null;
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

/**
 * Signs the receipt of a settled transaction and appends it to its workspace's chain, in `tx`,
 * the transaction that records the outcome (DESIGN §9). Callers run it under the workspace scope,
 * so one writer at a time extends a chain; the unique (workspace, seq) index refuses a fork
 * whatever happens, and a lost place is taken again from the new head.
 */
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
>;

export async function issueReceipt(tx: Conn, deps: Deps, txn: ReceiptSubject, at: number): Promise<string> {
  const approvers = txn.approvalId ? await approversOf(tx, txn.approvalId) : [];
  const decision = (txn.decision ?? {}) as StoredDecision;
  const base: Omit<ReceiptPayload, 'prev'> = {
    v: 1,
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
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    const head = await receiptHead(tx, txn.workspaceId);
    const payload: ReceiptPayload = { ...base, prev: head?.hash ?? null };
    const { kid, key } = deps.signingKeys.current();
    const jws = signCompact({ kid, typ: RECEIPT_TYP }, JSON.stringify(payload), key);
    const written = await insertReceipt(tx, {
      transactionId: txn.id,
      workspaceId: txn.workspaceId,
      seq: (head?.seq ?? 0) + 1,
      jws,
      hash: sha256Hex(jws),
      createdAt: at,
    });
    if (written) return jws;
    // The transaction already has its receipt (it never gets two), or another writer took the place.
    const existing = await getReceipt(tx, txn.id);
    if (existing) return existing.jws;
  }
  throw new Error(`Could not append the receipt of ${txn.id} to its workspace's chain.`);
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

/** GET /agp/receipts/:transactionId (DESIGN §9): another workspace's transaction does not exist. */
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
  return { transactionId, receipt: read.jws, payload: read.payload };
}

export interface ReceiptPlace {
  /** The receipt is the one stored for its transaction, byte for byte. */
  stored: boolean;
  seq: number | null;
  /** Its `prev` names the receipt before it in the workspace's chain (null for the first). */
  prevLinked: boolean;
  /** The receipt after it names this one (null: it is the newest). */
  nextLinked: boolean | null;
}

/** Where a receipt sits in its workspace's chain (`warden receipt verify`). */
export async function receiptPlace(conn: Conn, jws: string): Promise<ReceiptPlace> {
  const payload = receiptPayload(jws);
  const stored = await getReceipt(conn, payload.transactionId);
  if (!stored || stored.jws !== jws) return { stored: false, seq: null, prevLinked: false, nextLinked: null };
  const hash = sha256Hex(jws);
  const before = stored.seq > 1 ? await receiptAt(conn, stored.workspaceId, stored.seq - 1) : undefined;
  const after = await receiptAt(conn, stored.workspaceId, stored.seq + 1);
  return {
    stored: stored.hash === hash,
    seq: stored.seq,
    prevLinked:
      payload.prev === (before ? sha256Hex(before.jws) : null) && (stored.seq === 1 || before !== undefined),
    nextLinked: after ? receiptPayload(after.jws).prev === hash : null,
  };
}

/** A receipt checked: its signature against a key set, whom it names, its place in the chain. */
export interface ReceiptCheck {
  valid: boolean;
  signature: { valid: boolean; kid?: string; error?: string };
  /**
   * Whether the payload names the transaction asked about and that transaction's workspace
   * (null when the signature fails: then nothing the payload says counts).
   */
  names: { valid: boolean; transactionId: string; workspaceId: string | null; error?: string } | null;
  chain: ReceiptPlace | null;
}

/**
 * Checks a receipt as `warden receipt verify` does (DESIGN §9): the EdDSA signature against `keys`
 * (the gateway's JWK Set, or one a verifier outside holds); that its payload names the transaction
 * asked about (`of.transactionId`; without one, the transaction it names itself) and that
 * transaction's workspace (`of.workspaceId`, else the one its row in this database belongs to);
 * then where it sits in the chain.
 */
export async function checkReceipt(
  conn: Conn,
  jws: string,
  keys: Parameters<typeof compactVerify>[1],
  of: { transactionId?: string; workspaceId?: string } = {},
): Promise<ReceiptCheck> {
  let signature: ReceiptCheck['signature'];
  try {
    const { protectedHeader } = await compactVerify(jws, keys, { algorithms: ['EdDSA'] });
    signature = { valid: true, kid: protectedHeader.kid };
  } catch (error) {
    signature = { valid: false, error: error instanceof Error ? error.message : String(error) };
  }
  if (!signature.valid) return { valid: false, signature, names: null, chain: null };
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
      chain: null,
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
  const chain = await receiptPlace(conn, jws);
  const valid = names.valid && chain.stored && chain.prevLinked && chain.nextLinked !== false;
  return { valid, signature, names, chain };
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
