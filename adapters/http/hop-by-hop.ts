/**
 * Hop-by-hop headers describe one connection, not the message, so a proxy must not forward them
 * (RFC 9110 §7.6.1): Connection, every header Connection names, and the fixed list below
 * (Proxy-Connection and Keep-Alive are legacy ones the RFC says to drop as well).
 */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export type HeaderValue = string | readonly string[] | undefined;

/** Returns a copy of `headers` with lower-cased names, without hop-by-hop headers or empty values. */
export function stripHopByHop(
  headers: Readonly<Record<string, HeaderValue>>,
): Record<string, string | string[]> {
  const named = new Set<string>();
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() !== 'connection' || value === undefined) continue;
    for (const line of typeof value === 'string' ? [value] : value) {
      for (const token of line.split(',')) {
        const t = token.trim().toLowerCase();
        if (t) named.add(t);
      }
    }
  }
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || HOP_BY_HOP_HEADERS.has(lower) || named.has(lower)) continue;
    out[lower] = typeof value === 'string' ? value : [...value];
  }
  return out;
}
