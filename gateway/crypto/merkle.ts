import { createHash } from 'node:crypto';

/**
 * The Merkle tree of RFC 9162 §2.1 (Certificate Transparency v2), over stored complete subtrees.
 *
 * A node `{level, index}` is the complete subtree of 2^level leaves starting at leaf index·2^level;
 * level 0 holds the leaf hashes. Every node is written once, when the leaf completing it is appended,
 * and never changes; any tree head, inclusion proof or consistency proof of any size is computed from
 * O(log n) of them (each range [a, b) of the RFC's recursion splits into at most log n complete
 * subtrees), read in one query: the functions below first list the nodes they need, then compute.
 */

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

/** SHA-256(0x00 ‖ entry) (RFC 9162 §2.1.1). */
export function leafHash(entry: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF).update(entry).digest();
}

/** SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(NODE).update(left).update(right).digest();
}

export interface NodeRef {
  level: number;
  index: number;
}

export interface StoredNode extends NodeRef {
  hash: Buffer;
}

/** Reads stored nodes by place; a missing one is an error of the store, not of the caller. */
export type NodeSource = (refs: readonly NodeRef[]) => Promise<ReadonlyMap<string, Buffer>>;

export const nodeKey = (level: number, index: number): string => `${level}:${index}`;

/** The largest power of two strictly below n (n ≥ 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

const isPowerOfTwo = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;
const log2 = (n: number): number => 31 - Math.clz32(n);

type Get = (level: number, index: number) => Buffer;

/** MTH(D[a:b]), from the complete subtrees it splits into (RFC 9162 §2.1.1). */
function rangeHash(a: number, b: number, get: Get): Buffer {
  const n = b - a;
  if (isPowerOfTwo(n) && a % n === 0) return get(log2(n), a / n);
  const k = split(n);
  return nodeHash(rangeHash(a, a + k, get), rangeHash(a + k, b, get));
}

/** PATH(m, D[a:b]) (RFC 9162 §2.1.3.1): sibling hashes, the leaf's side first. */
function path(m: number, a: number, b: number, get: Get): Buffer[] {
  const n = b - a;
  if (n <= 1) return [];
  const k = split(n);
  return m < k
    ? [...path(m, a, a + k, get), rangeHash(a + k, b, get)]
    : [...path(m - k, a + k, b, get), rangeHash(a, a + k, get)];
}

/** SUBPROOF(m, D[a:b], whole) (RFC 9162 §2.1.4.1). */
function subproof(m: number, a: number, b: number, whole: boolean, get: Get): Buffer[] {
  const n = b - a;
  if (m === n) return whole ? [] : [rangeHash(a, b, get)];
  const k = split(n);
  return m <= k
    ? [...subproof(m, a, a + k, whole, get), rangeHash(a + k, b, get)]
    : [...subproof(m - k, a + k, b, false, get), rangeHash(a, a + k, get)];
}

const ZERO = Buffer.alloc(32);

/** Runs `compute` once to learn which nodes it reads, reads them in one go, then computes for real. */
async function withNodes<T>(read: NodeSource, compute: (get: Get) => T): Promise<T> {
  const wanted = new Map<string, NodeRef>();
  compute((level, index) => {
    wanted.set(nodeKey(level, index), { level, index });
    return ZERO;
  });
  const found = await read([...wanted.values()]);
  return compute((level, index) => {
    const hash = found.get(nodeKey(level, index));
    if (!hash) throw new Error(`The ledger log is missing its node ${nodeKey(level, index)}.`);
    return hash;
  });
}

/** The tree head of the first `size` entries (size ≥ 1). */
export function treeHead(size: number, read: NodeSource): Promise<Buffer> {
  return withNodes(read, (get) => rangeHash(0, size, get));
}

/** The audit path of leaf `index` in the tree of `size` entries. */
export function inclusionProof(index: number, size: number, read: NodeSource): Promise<Buffer[]> {
  if (!(index >= 0 && index < size)) throw new RangeError(`No leaf ${index} in a tree of ${size}.`);
  return withNodes(read, (get) => path(index, 0, size, get));
}

/** The proof that the tree of `to` entries extends the tree of `from` (0 < from ≤ to). */
export function consistencyProof(from: number, to: number, read: NodeSource): Promise<Buffer[]> {
  if (!(from > 0 && from <= to)) throw new RangeError(`No consistency proof from ${from} to ${to}.`);
  return withNodes(read, (get) => subproof(from, 0, to, true, get));
}

/** The complete subtrees a tree of `size` entries is made of, largest first: all an append needs. */
export function frontier(size: number): NodeRef[] {
  const refs: NodeRef[] = [];
  let start = 0;
  for (let level = 31; level >= 0; level--) {
    const width = 2 ** level;
    if (size & width) {
      refs.push({ level, index: start / width });
      start += width;
    }
  }
  return refs;
}

/**
 * Appends leaf hashes to a tree of `size` entries whose frontier nodes are given: the nodes to store
 * (each leaf, and each subtree it completes) and the new tree head.
 */
export function append(
  size: number,
  frontierNodes: readonly StoredNode[],
  leaves: readonly Buffer[],
): { nodes: StoredNode[]; size: number; root: Buffer } {
  const known = new Map<string, Buffer>();
  for (const node of frontierNodes) known.set(nodeKey(node.level, node.index), node.hash);
  const nodes: StoredNode[] = [];
  let n = size;
  for (const leaf of leaves) {
    let level = 0;
    let index = n;
    let hash = leaf;
    for (;;) {
      nodes.push({ level, index, hash });
      known.set(nodeKey(level, index), hash);
      // A right child completes its parent, whose left child is already stored.
      if (index % 2 === 0) break;
      const left = known.get(nodeKey(level, index - 1));
      if (!left) throw new Error(`The ledger log is missing its node ${nodeKey(level, index - 1)}.`);
      hash = nodeHash(left, hash);
      level++;
      index = Math.floor(index / 2);
    }
    n++;
  }
  const root = rangeHash(0, n, (level, index) => {
    const hash = known.get(nodeKey(level, index));
    if (!hash) throw new Error(`The ledger log is missing its node ${nodeKey(level, index)}.`);
    return hash;
  });
  return { nodes, size: n, root };
}

/**
 * Verifies an inclusion proof (RFC 9162 §2.1.3.2): that `leaf` is leaf `index` of the tree of `size`
 * entries whose head is `root`. What a receipt's holder runs against a checkpoint.
 */
export function verifyInclusion(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!(Number.isInteger(index) && Number.isInteger(size) && index >= 0 && index < size)) return false;
  let fn = index;
  let sn = size - 1;
  let r: Uint8Array = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && Buffer.from(r).equals(Buffer.from(root));
}
