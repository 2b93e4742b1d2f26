import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  append,
  consistencyProof,
  frontier,
  inclusionProof,
  type NodeRef,
  type NodeSource,
  nodeKey,
  type StoredNode,
  treeHead,
} from '../../gateway/crypto/merkle.ts';
import { auditPath, consistency, leaf, mth, verifyConsistency, verifyInclusion } from './rfc9162.ts';

const entry = (i: number) => Buffer.from(`{"kind":"audit","id":"aud_${i}","hash":"${i}"}`);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** A store of nodes in memory, filled by `append` in batches of the given sizes. */
function build(batches: number[]) {
  const store = new Map<string, Buffer>();
  let size = 0;
  const entries: Buffer[] = [];
  const heads: Buffer[] = [];
  for (const count of batches) {
    const batch = Array.from({ length: count }, (_, i) => entry(size + i));
    const known = frontier(size).map((ref) => ({ ...ref, hash: store.get(nodeKey(ref.level, ref.index)) }));
    const result = append(size, known as StoredNode[], batch.map(leaf));
    for (const node of result.nodes) {
      // Every node is written once: never overwritten by a later append.
      expect(store.has(nodeKey(node.level, node.index))).toBe(false);
      store.set(nodeKey(node.level, node.index), node.hash);
    }
    entries.push(...batch);
    size = result.size;
    heads[size] = result.root;
  }
  let reads = 0;
  const source: NodeSource = async (refs: readonly NodeRef[]) => {
    reads++;
    return new Map(
      refs.map((r) => [nodeKey(r.level, r.index), store.get(nodeKey(r.level, r.index)) as Buffer]),
    );
  };
  return { store, entries, heads, source, reads: () => reads };
}

// RFC 9162 §2.1, checked against an independent implementation written from the RFC (rfc9162.ts).
describe('the ledger log tree (RFC 9162 §2.1)', () => {
  it('tree heads match MTH for every size, appended in any batches', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 12 }),
        async (batches) => {
          const { entries, heads, source } = build(batches);
          let size = 0;
          for (const count of batches) {
            size += count;
            expect(hex(heads[size] as Buffer)).toBe(hex(mth(entries.slice(0, size))));
            expect(hex(await treeHead(size, source))).toBe(hex(mth(entries.slice(0, size))));
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('every inclusion proof of every size up to 40 equals the RFC audit path and verifies', async () => {
    const { entries, source } = build([40]);
    for (let size = 1; size <= 40; size++) {
      const root = mth(entries.slice(0, size));
      for (let index = 0; index < size; index++) {
        const proof = await inclusionProof(index, size, source);
        expect(proof.map(hex)).toEqual(auditPath(index, entries.slice(0, size)).map(hex));
        expect(verifyInclusion(index, size, leaf(entries[index] as Buffer), proof, root)).toBe(true);
      }
    }
  });

  it('every consistency proof between sizes up to 40 equals the RFC proof and verifies', async () => {
    const { entries, source } = build([40]);
    for (let to = 1; to <= 40; to++) {
      for (let from = 1; from <= to; from++) {
        const proof = await consistencyProof(from, to, source);
        expect(proof.map(hex)).toEqual(consistency(from, entries.slice(0, to)).map(hex));
        const ok = verifyConsistency(from, to, mth(entries.slice(0, from)), mth(entries.slice(0, to)), proof);
        expect(ok).toBe(true);
      }
    }
  });

  it('a changed, removed or reordered entry fails the proofs', async () => {
    const { entries, source } = build([13]);
    const root = mth(entries);
    const proof = await inclusionProof(5, 13, source);
    expect(verifyInclusion(5, 13, leaf(Buffer.from('changed')), proof, root)).toBe(false);
    const swapped = [...entries];
    [swapped[3], swapped[4]] = [swapped[4] as Buffer, swapped[3] as Buffer];
    expect(hex(mth(swapped))).not.toBe(hex(root));
    // A log that lost its newest entry is not consistent with the checkpoint that held it.
    const shorter = mth(entries.slice(0, 12));
    const fromOld = await consistencyProof(12, 13, source);
    expect(verifyConsistency(12, 13, shorter, mth([...entries.slice(0, 12), entry(99)]), fromOld)).toBe(
      false,
    );
  });

  it('a proof in a tree of a billion entries reads one batch of O(log n) nodes', async () => {
    // Only the nodes a proof names are asked for: fake hashes suffice to count them.
    const asked: NodeRef[][] = [];
    const source: NodeSource = async (refs) => {
      asked.push([...refs]);
      return new Map(refs.map((r) => [nodeKey(r.level, r.index), Buffer.alloc(32, r.level)]));
    };
    for (const [index, size] of [
      [0, 1_000_000_007],
      [999_999_999, 1_000_000_007],
      [123_456_789, 987_654_321],
      [2 ** 29 + 3, 2 ** 30 - 1],
    ] as const) {
      asked.length = 0;
      await inclusionProof(index, size, source);
      await consistencyProof(index + 1, size, source);
      expect(asked).toHaveLength(2);
      for (const refs of asked) expect(refs.length).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(size)));
    }
  });
});
