import { randomFillSync } from 'node:crypto';
import { monotonicFactory } from 'ulid';

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
