import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { rootFromInclusion, verifyConsistency } from '../../client/src/merkle.ts';
import {
  append,
  consistencyProof,
  inclusionProof,
  type NodeSource,
  nodeKey,
  treeHead,
} from '../../gateway/crypto/merkle.ts';

/**
 * The client's RFC 9162 checks (Web Crypto) against the gateway's own proofs, for every tree size
 * up to 20: each inclusion and consistency proof the gateway makes verifies, and a proof with one
 * hash changed, or claimed for other sizes, does not.
 */
const SIZES = 20;

async function tree() {
  const leaves = Array.from({ length: SIZES }, (_, i) => createHash('sha256').update(`entry ${i}`).digest());
  const { nodes } = append(0, [], leaves);
  const store = new Map(nodes.map((n) => [nodeKey(n.level, n.index), n.hash]));
  const source: NodeSource = async (refs) =>
    new Map(
      refs.map((r) => [nodeKey(r.level, r.index), store.get(nodeKey(r.level, r.index)) ?? Buffer.alloc(0)]),
    );
  return { leaves, source };
}

const flip = (hashes: Buffer[], at: number) =>
  hashes.map((h, i) => (i === at ? Buffer.from(h.map((b, j) => (j === 0 ? b ^ 1 : b))) : h));

describe('the client’s Merkle checks', () => {
  it('verify every inclusion proof the gateway makes, and refuse a changed one', async () => {
    const { leaves, source } = await tree();
    for (let size = 1; size <= SIZES; size++) {
      const root = await treeHead(size, source);
      for (let index = 0; index < size; index++) {
        const proof = await inclusionProof(index, size, source);
        const leaf = leaves[index] ?? Buffer.alloc(0);
        expect(Buffer.from((await rootFromInclusion(leaf, index, size, proof)) ?? []).equals(root)).toBe(
          true,
        );
        if (proof.length > 0) {
          const bad = await rootFromInclusion(leaf, index, size, flip(proof, 0));
          expect(bad !== null && Buffer.from(bad).equals(root)).toBe(false);
        }
      }
    }
  });

  it('verify every consistency proof the gateway makes, and refuse a changed one or other sizes', async () => {
    const { source } = await tree();
    const roots = await Promise.all(Array.from({ length: SIZES }, (_, i) => treeHead(i + 1, source)));
    const rootOf = (size: number) => roots[size - 1] ?? Buffer.alloc(32);
    for (let to = 1; to <= SIZES; to++) {
      for (let from = 1; from <= to; from++) {
        const proof = await consistencyProof(from, to, source);
        expect(await verifyConsistency(from, to, rootOf(from), rootOf(to), proof), `${from}→${to}`).toBe(
          true,
        );
        if (proof.length > 0) {
          expect(
            await verifyConsistency(from, to, rootOf(from), rootOf(to), flip(proof, proof.length - 1)),
          ).toBe(false);
        }
        if (from < to) {
          // A head that is not the kept one's.
          expect(await verifyConsistency(from, to, rootOf(to), rootOf(to), proof)).toBe(false);
        }
      }
    }
  });
});
