import { createHash } from 'node:crypto';

/**
 * An independent RFC 9162 §2.1 implementation for the tests, written from the RFC's text and
 * sharing nothing with gateway/crypto/merkle.ts: the tree head over a list of entries, the audit
 * path and consistency proof by the RFC's recursive definitions, and both verification algorithms
 * (§2.1.3.2, §2.1.4.2) step by step.
 */
const hash = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const part of parts) h.update(part);
  return h.digest();
};
export const leaf = (entry: Uint8Array) => hash(Buffer.from([0x00]), entry);
const node = (l: Uint8Array, r: Uint8Array) => hash(Buffer.from([0x01]), l, r);

/** k: the largest power of two smaller than n. */
function largestPow2Below(n: number): number {
  let k = 1;
  while (k << 1 < n) k <<= 1;
  return k;
}

export function mth(entries: readonly Uint8Array[]): Buffer {
  const n = entries.length;
  if (n === 0) return hash();
  if (n === 1) return leaf(entries[0] as Uint8Array);
  const k = largestPow2Below(n);
  return node(mth(entries.slice(0, k)), mth(entries.slice(k)));
}

export function auditPath(m: number, entries: readonly Uint8Array[]): Buffer[] {
  const n = entries.length;
  if (n === 1) return [];
  const k = largestPow2Below(n);
  if (m < k) return [...auditPath(m, entries.slice(0, k)), mth(entries.slice(k))];
  return [...auditPath(m - k, entries.slice(k)), mth(entries.slice(0, k))];
}

function subproof(m: number, entries: readonly Uint8Array[], b: boolean): Buffer[] {
  const n = entries.length;
  if (m === n) return b ? [] : [mth(entries)];
  const k = largestPow2Below(n);
  if (m <= k) return [...subproof(m, entries.slice(0, k), b), mth(entries.slice(k))];
  return [...subproof(m - k, entries.slice(k), false), mth(entries.slice(0, k))];
}

export const consistency = (m: number, entries: readonly Uint8Array[]) => subproof(m, entries, true);

/** RFC 9162 §2.1.3.2, verifying an inclusion proof. */
export function verifyInclusion(
  leafIndex: number,
  treeSize: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (leafIndex >= treeSize) return false;
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r: Uint8Array = leafHash;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = node(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = node(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 && Buffer.compare(Buffer.from(r), Buffer.from(root)) === 0;
}

/** RFC 9162 §2.1.4.2, verifying a consistency proof. */
export function verifyConsistency(
  first: number,
  second: number,
  firstHash: Uint8Array,
  secondHash: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (first === second)
    return proof.length === 0 && Buffer.compare(Buffer.from(firstHash), Buffer.from(secondHash)) === 0;
  if (proof.length === 0) return false;
  const path = [...proof];
  // If first is an exact power of 2, prepend first_hash.
  if ((first & (first - 1)) === 0) path.unshift(firstHash);
  let fn = first - 1;
  let sn = second - 1;
  if (fn % 2 === 1) {
    while (fn % 2 === 1) {
      fn >>= 1;
      sn >>= 1;
    }
  }
  let fr: Uint8Array = path[0] as Uint8Array;
  let sr: Uint8Array = path[0] as Uint8Array;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = node(c, fr);
      sr = node(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = node(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return (
    sn === 0 &&
    Buffer.compare(Buffer.from(fr), Buffer.from(firstHash)) === 0 &&
    Buffer.compare(Buffer.from(sr), Buffer.from(secondHash)) === 0
  );
}
