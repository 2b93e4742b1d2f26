import { randomFillSync } from 'node:crypto';
import { encodeTime, monotonicFactory } from 'ulid';

/** One typed prefix map for every id the gateway hands out (DESIGN §3: prefixed ULIDs). */
const PREFIXES = {
  workspace: 'ws',
  member: 'mem',
  agentKey: 'key',
  transaction: 'txn',
  approval: 'apr',
  audit: 'aud',
  policyVersion: 'pv',
  webhook: 'wh',
  request: 'req',
  event: 'evt',
  outbox: 'out',
  evaluation: 'evl',
  signingKey: 'sig',
  invite: 'inv',
  oauthClient: 'oac',
  oauthGrant: 'ogr',
} as const;

export type IdKind = keyof typeof PREFIXES;

// ulid asks its PRNG once per character; drawing each from crypto is a syscall-sized call. A pooled
// buffer of crypto randomness gives the same quality for a fraction of the cost.
const pool = new Uint32Array(4096);
let next = pool.length;
function pooledRandom(): number {
  if (next === pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  return (pool[next++] as number) / 0x1_0000_0000;
}

const ulid = monotonicFactory(pooledRandom);

export function newId(kind: IdKind): string {
  return `${PREFIXES[kind]}_${ulid()}`;
}

// Ledger rows (executes, evaluations) carry their admission time, read from the injectable clock
// that also writes `created_at`: a time range is then an id range of the `transactions_ws_id`
// index (analytics, issue 14), in tests with a manual clock as in production. A factory of their
// own, so other ids made from the wall clock never push these past their time.
let ledgerUlid = monotonicFactory(pooledRandom);
let ledgerLast = 0;

/** An id whose ULID time is `at` (epoch ms); ids of one millisecond increase in the order made. */
export function newIdAt(kind: IdKind, at: number): string {
  // A clock that went back (a step of the wall clock, another test gateway's manual clock) starts a
  // new sequence at its own time, rather than stamping ids with a time that is not theirs.
  if (at < ledgerLast) ledgerUlid = monotonicFactory(pooledRandom);
  ledgerLast = at;
  return `${PREFIXES[kind]}_${ledgerUlid(at)}`;
}

/** [lo, hi): every id of `kind` made by `newIdAt` with a time in [from, to), and no other. */
export function idRange(kind: IdKind, from: number, to: number): [string, string] {
  const time = (ms: number) => encodeTime(Math.min(Math.max(0, ms), 2 ** 48 - 1), 10);
  return [`${PREFIXES[kind]}_${time(from)}`, `${PREFIXES[kind]}_${time(to)}`];
}
