/**
 * RFC 9162 §2.1 on Web Crypto: the leaf hash of a ledger entry and the check of an inclusion proof
 * (§2.1.3.2), so a receipt's place in its workspace's log is verified by the client itself, not
 * taken from the gateway's word.
 */

const encoder = new TextEncoder();

async function sha256(...parts: Uint8Array[]): Promise<Uint8Array> {
  const joined = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.length;
  }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', joined));
}

const LEAF = new Uint8Array([0]);
const NODE = new Uint8Array([1]);

/**
 * The bytes of a receipt's log entry: the RFC 8785 canonical JSON of `{"kind":"receipt","jws":…}`.
 * Its keys sorted are `jws`, `kind`; a compact JWS is base64url and dots, which JSON writes as is.
 */
export function receiptEntry(jws: string): Uint8Array {
  return encoder.encode(`{"jws":${JSON.stringify(jws)},"kind":"receipt"}`);
}

/** SHA-256(0x00 ‖ entry). */
export const leafHash = (entry: Uint8Array): Promise<Uint8Array> => sha256(LEAF, entry);

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function fromHex(hex: string): Uint8Array {
  if (!/^([0-9a-f]{2})*$/.test(hex)) throw new Error(`Not lowercase hex: ${hex.slice(0, 16)}…`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/**
 * The root an inclusion proof leads to (RFC 9162 §2.1.3.2), or null when the proof cannot be the
 * audit path of leaf `index` in a tree of `size` (wrong length, index out of range).
 */
export async function rootFromInclusion(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
): Promise<Uint8Array | null> {
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size)) return null;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = await sha256(NODE, p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = await sha256(NODE, r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

/**
 * Checks a consistency proof (RFC 9162 §2.1.4.2): that the tree of `second` entries with head
 * `secondRoot` extends the tree of `first` entries with head `firstRoot`, i.e. that the log still
 * holds, unchanged and in order, everything the first head covered.
 */
export async function verifyConsistency(
  first: number,
  second: number,
  firstRoot: Uint8Array,
  secondRoot: Uint8Array,
  proof: readonly Uint8Array[],
): Promise<boolean> {
  const same = (a: Uint8Array, b: Uint8Array) => toHex(a) === toHex(b);
  if (!(Number.isSafeInteger(first) && Number.isSafeInteger(second) && first > 0 && first <= second))
    return false;
  if (first === second) return proof.length === 0 && same(firstRoot, secondRoot);
  if (proof.length === 0) return false;
  const path = (first & (first - 1)) === 0 ? [firstRoot, ...proof] : [...proof];
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  const [start, ...rest] = path;
  if (!start) return false;
  let fr = start;
  let sr = start;
  for (const c of rest) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = await sha256(NODE, c, fr);
      sr = await sha256(NODE, c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = await sha256(NODE, sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && same(fr, firstRoot) && same(sr, secondRoot);
}
