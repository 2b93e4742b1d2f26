import canonicalize from 'canonicalize';
import { compactVerify, type createLocalJWKSet } from 'jose';
import { expect } from 'vitest';
import * as rfc from './rfc9162.ts';

/** A GET on the gateway as some member: over HTTP to a replica, or in process. */
export type Get = (path: string) => Promise<{ status: number; body: Record<string, unknown> }>;

export type Entry =
  | { index: number; kind: 'receipt'; jws: string }
  | { index: number; kind: 'audit'; id: string; hash: string };

/** The entry's bytes as DESIGN §9 defines them, computed here from the spec, not the gateway's code. */
export const entryBytes = (e: Entry): Buffer =>
  Buffer.from(
    canonicalize(
      e.kind === 'receipt' ? { kind: 'receipt', jws: e.jws } : { kind: 'audit', id: e.id, hash: e.hash },
    ) as string,
    'utf8',
  );

export interface Rebuilt {
  entries: Entry[];
  leaves: Buffer[];
  size: number;
  root: string;
  checkpoint: string;
}

/**
 * Reads every entry of the caller's log (GET /v1/ledger/entries, page by page), rebuilds the tree
 * with the tests' own RFC 9162 code and checks it against the newest checkpoint: its signature
 * (against `keys`), its `typ`, its size and its root. Also that the indexes run 0… without a gap.
 */
export async function rebuildLog(get: Get, keys: ReturnType<typeof createLocalJWKSet>): Promise<Rebuilt> {
  const head = await get('/v1/ledger/checkpoint');
  expect(head.status).toBe(200);
  const checkpoint = head.body.checkpoint as string;
  const verified = await compactVerify(checkpoint, keys);
  expect(verified.protectedHeader.typ).toBe('warden-checkpoint+jws');
  const signed = JSON.parse(new TextDecoder().decode(verified.payload)) as { size: number; root: string };
  const entries: Entry[] = [];
  for (;;) {
    const page = await get(`/v1/ledger/entries?start=${entries.length}&limit=1000`);
    expect(page.status).toBe(200);
    const got = page.body.entries as Entry[];
    entries.push(...got);
    if (got.length < 1000) break;
  }
  expect(entries.map((e) => e.index)).toEqual(entries.map((_, i) => i));
  expect(entries.length).toBe(signed.size);
  const leaves = entries.map(entryBytes);
  const root = rfc.mth(leaves).toString('hex');
  expect(root).toBe(signed.root);
  return { entries, leaves, size: signed.size, root, checkpoint };
}
