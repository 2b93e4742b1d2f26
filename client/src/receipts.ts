import canonicalize from 'canonicalize';
import { compactVerify, createLocalJWKSet, type JSONWebKeySet, type JWSHeaderParameters } from 'jose';
import { fromHex, leafHash, receiptEntry, rootFromInclusion, toHex, verifyConsistency } from './merkle.ts';
import type { CheckpointPayload, JwkSet, ReceiptLog } from './types.ts';

/**
 * Receipts checked by the client, with nothing but the JWK Set and what the gateway sent: the
 * signature (Ed25519, `typ` warden-receipt+jws), that the payload names the transaction (and, when
 * given, the request) asked about, and the receipt's inclusion in its workspace's ledger log under
 * a checkpoint signed by the same keys (RFC 9162 §2.1.3.2).
 */

export const RECEIPT_TYP = 'warden-receipt+jws';
export const CHECKPOINT_TYP = 'warden-checkpoint+jws';

/**
 * The signed payload of a receipt (version 2; docs/api.md "Receipts"). The API documents it as a
 * JSON object; these are the fields the client reads.
 */
export interface ReceiptClaims {
  v: number;
  transactionId: string;
  workspaceId: string;
  agentId: string;
  businessId: string | null;
  operation: string;
  status: string;
  amount: number | null;
  currency: string | null;
  requestHash: string;
  responseHash: string | null;
  decision: { outcome: string; ruleId: string | null; policy: { name: string; version: number | null } };
  approvers: string[];
  issuedAt: string;
}

export interface InclusionCheck {
  /** The entry's audit path leads to the root the checkpoint signs. */
  included: boolean;
  index: number;
  size: number;
  /** The tree head the checkpoint signs (lowercase hex). */
  root: string | null;
  checkpoint: CheckpointPayload | null;
}

export interface ReceiptVerification {
  /** The signature holds, the payload names what was asked, and the log place (if any) checks out. */
  valid: boolean;
  signature: boolean;
  claims: ReceiptClaims | null;
  /** `pending` until the sequencer appends the receipt (`log` null); then the check. */
  inclusion: InclusionCheck | 'pending';
  /** Why it is not valid, one sentence each; empty when valid. */
  problems: string[];
}

export interface VerifyReceiptInput {
  /** The compact JWS. */
  receipt: string;
  /** Its place in the log, from GET /agp/receipts/:id (null until appended). */
  log?: ReceiptLog | null;
  /** The transaction it must name. */
  transactionId?: string;
  /** The request that was sent: its RFC 8785 SHA-256 must be the payload's `requestHash`. */
  request?: unknown;
  /** Invalid while the receipt is not yet in the log (default false: `inclusion` says `pending`). */
  requireInclusion?: boolean;
}

/** Finds the verification key of a JWS header in the gateway's JWK Set (refetched on an unknown kid). */
export type KeyResolver = (header: JWSHeaderParameters) => ReturnType<ReturnType<typeof createLocalJWKSet>>;

/** A key resolver over `load()`, the JWK Set, cached and loaded again once when a `kid` is new. */
export function jwksResolver(load: () => Promise<JwkSet>): KeyResolver {
  let cached: ReturnType<typeof createLocalJWKSet> | undefined;
  let known = new Set<string>();
  const refresh = async () => {
    const set = await load();
    cached = createLocalJWKSet(set as unknown as JSONWebKeySet);
    known = new Set(set.keys.map((k) => k.kid));
  };
  return async (header) => {
    if (!cached || (header.kid !== undefined && !known.has(header.kid))) await refresh();
    if (!cached) throw new Error('No JWK Set.');
    return cached(header);
  };
}

const decoder = new TextDecoder();
const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

async function sha256Hex(text: string): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))));
}

/** Verifies a receipt and, when `log` is given, its inclusion in the ledger log. */
export async function verifyReceiptWith(
  keys: KeyResolver,
  input: VerifyReceiptInput,
): Promise<ReceiptVerification> {
  const problems: string[] = [];
  let claims: ReceiptClaims | null = null;
  let signature = false;
  try {
    const { payload, protectedHeader } = await compactVerify(input.receipt, keys, { algorithms: ['EdDSA'] });
    if (protectedHeader.typ !== RECEIPT_TYP) problems.push(`The JWS typ is not ${RECEIPT_TYP}.`);
    else signature = true;
    claims = JSON.parse(decoder.decode(payload)) as ReceiptClaims;
  } catch (error) {
    problems.push(`The signature does not verify: ${message(error)}`);
  }
  if (claims && input.transactionId !== undefined && claims.transactionId !== input.transactionId) {
    problems.push(`The receipt names transaction ${claims.transactionId}, not ${input.transactionId}.`);
  }
  if (claims && input.request !== undefined) {
    const hash = await sha256Hex(canonicalize(input.request) ?? '');
    if (hash !== claims.requestHash) problems.push('The receipt was issued for another request.');
  }
  let inclusion: ReceiptVerification['inclusion'] = 'pending';
  if (input.log) {
    inclusion = await checkInclusion(keys, input.receipt, input.log, claims?.workspaceId, problems);
  } else if (input.requireInclusion) {
    problems.push('The receipt is not in the ledger log yet.');
  }
  return { valid: signature && problems.length === 0, signature, claims, inclusion, problems };
}

/** The checkpoint's signature and workspace, then the audit path from the entry to its root. */
async function checkInclusion(
  keys: KeyResolver,
  receipt: string,
  log: ReceiptLog,
  workspaceId: string | undefined,
  problems: string[],
): Promise<InclusionCheck> {
  const failed = (why: string, checkpoint: CheckpointPayload | null = null): InclusionCheck => {
    problems.push(why);
    return { included: false, index: log.index, size: log.size, root: checkpoint?.root ?? null, checkpoint };
  };
  let checkpoint: CheckpointPayload;
  try {
    const { payload, protectedHeader } = await compactVerify(log.checkpoint, keys, { algorithms: ['EdDSA'] });
    if (protectedHeader.typ !== CHECKPOINT_TYP)
      return failed(`The checkpoint's typ is not ${CHECKPOINT_TYP}.`);
    checkpoint = JSON.parse(decoder.decode(payload)) as CheckpointPayload;
  } catch (error) {
    return failed(`The checkpoint's signature does not verify: ${message(error)}`);
  }
  if (workspaceId !== undefined && checkpoint.workspaceId !== workspaceId) {
    return failed(
      `The checkpoint signs the log of workspace ${checkpoint.workspaceId}, not ${workspaceId}.`,
      checkpoint,
    );
  }
  if (checkpoint.size !== log.size) {
    return failed(
      `The proof is for a tree of ${log.size} entries; the checkpoint signs ${checkpoint.size}.`,
      checkpoint,
    );
  }
  let root: Uint8Array | null;
  try {
    root = await rootFromInclusion(
      await leafHash(receiptEntry(receipt)),
      log.index,
      log.size,
      log.inclusionProof.map(fromHex),
    );
  } catch (error) {
    return failed(`The inclusion proof is malformed: ${message(error)}`, checkpoint);
  }
  if (root === null || toHex(root) !== checkpoint.root) {
    return failed(`The receipt is not leaf ${log.index} of the tree the checkpoint signs.`, checkpoint);
  }
  return { included: true, index: log.index, size: log.size, root: checkpoint.root, checkpoint };
}

/** A checkpoint's signature (EdDSA, `typ` warden-checkpoint+jws) against the key set, and its payload. */
export async function verifyCheckpointWith(
  keys: KeyResolver,
  jws: string,
): Promise<{ payload: CheckpointPayload } | { problem: string }> {
  try {
    const { payload, protectedHeader } = await compactVerify(jws, keys, { algorithms: ['EdDSA'] });
    if (protectedHeader.typ !== CHECKPOINT_TYP)
      return { problem: `The checkpoint's typ is not ${CHECKPOINT_TYP}.` };
    return { payload: JSON.parse(decoder.decode(payload)) as CheckpointPayload };
  } catch (error) {
    return { problem: `The checkpoint's signature does not verify: ${message(error)}` };
  }
}

export interface ConsistencyCheck {
  /** Both checkpoints are signed, of one log, and the newer one extends the kept one. */
  consistent: boolean;
  from: number | null;
  to: number | null;
  problems: string[];
}

/**
 * That the log under `newer` still holds everything the `kept` checkpoint signed (RFC 9162
 * §2.1.4.2): both signatures, one workspace, and the consistency proof between their trees.
 */
export async function checkConsistencyWith(
  keys: KeyResolver,
  kept: string,
  newer: string,
  proof: readonly string[],
): Promise<ConsistencyCheck> {
  const [a, b] = await Promise.all([verifyCheckpointWith(keys, kept), verifyCheckpointWith(keys, newer)]);
  const problems = [a, b].flatMap((v) => ('problem' in v ? [v.problem] : []));
  if (!('payload' in a) || !('payload' in b)) return { consistent: false, from: null, to: null, problems };
  const from = a.payload.size;
  const to = b.payload.size;
  if (a.payload.workspaceId !== b.payload.workspaceId) {
    problems.push(
      `The checkpoints sign the logs of two workspaces (${a.payload.workspaceId}, ${b.payload.workspaceId}).`,
    );
  } else if (from > to) {
    problems.push(`The kept checkpoint covers ${from} entries, more than the ${to} of the newer one.`);
  } else {
    let ok = false;
    try {
      ok = await verifyConsistency(
        from,
        to,
        fromHex(a.payload.root),
        fromHex(b.payload.root),
        proof.map(fromHex),
      );
    } catch (error) {
      problems.push(`The consistency proof is malformed: ${message(error)}`);
    }
    if (!ok && problems.length === 0) {
      problems.push(
        `The log of ${to} entries does not extend the one of ${from} the kept checkpoint signed.`,
      );
    }
  }
  return { consistent: problems.length === 0, from, to, problems };
}
