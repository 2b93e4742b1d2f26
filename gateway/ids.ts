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
} as const;

export type IdKind = keyof typeof PREFIXES;

const ulid = monotonicFactory();

export function newId(kind: IdKind): string {
  return `${PREFIXES[kind]}_${ulid()}`;
}
