import { isIPv4, isIPv6 } from 'node:net';

/**
 * Outbound address policy (DESIGN §7): http adapters and webhooks must not reach private, loopback,
 * link-local or cloud metadata addresses unless the operator allows it (`EGRESS_ALLOW_PRIVATE`).
 * Ranges from the IANA special-purpose registries (RFC 6890 and updates).
 */

/** [network, prefix length] pairs; everything in them is refused. */
const BLOCKED_V4: ReadonlyArray<readonly [string, number]> = [
  ['0.0.0.0', 8], // "this network" (RFC 791); 0.0.0.0 reaches the local host on Linux
  ['10.0.0.0', 8], // private (RFC 1918)
  ['100.64.0.0', 10], // shared address space, carrier-grade NAT (RFC 6598)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, incl. 169.254.169.254 cloud metadata (RFC 3927)
  ['172.16.0.0', 12], // private (RFC 1918)
  ['192.0.0.0', 24], // IETF protocol assignments (RFC 6890), incl. 192.0.0.192 metadata on some clouds
  ['192.0.2.0', 24], // TEST-NET-1 (RFC 5737)
  ['192.88.99.0', 24], // 6to4 relay anycast (RFC 7526)
  ['192.168.0.0', 16], // private (RFC 1918)
  ['198.18.0.0', 15], // benchmarking (RFC 2544)
  ['198.51.100.0', 24], // TEST-NET-2
  ['203.0.113.0', 24], // TEST-NET-3
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, incl. 255.255.255.255 broadcast
];

const BLOCKED_V4_RANGES = BLOCKED_V4.map(([net, bits]) => {
  const base = parseIPv4(net) ?? 0;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return { base: (base & mask) >>> 0, mask };
});

function parseIPv4(ip: string): number | undefined {
  if (!isIPv4(ip)) return undefined;
  const parts = ip.split('.').map(Number);
  return (((parts[0] ?? 0) << 24) | ((parts[1] ?? 0) << 16) | ((parts[2] ?? 0) << 8) | (parts[3] ?? 0)) >>> 0;
}

function isBlockedV4(value: number): boolean {
  return BLOCKED_V4_RANGES.some(({ base, mask }) => (value & mask) >>> 0 === base);
}

/** Eight 16-bit groups, or undefined when `ip` is not an IPv6 address. */
function parseIPv6(ip: string): number[] | undefined {
  if (!isIPv6(ip)) return undefined;
  let text = ip;
  // A trailing dotted quad (::ffff:1.2.3.4) stands for the last two groups.
  const lastColon = text.lastIndexOf(':');
  const v4 = parseIPv4(text.slice(lastColon + 1));
  if (v4 !== undefined) {
    text = `${text.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const parseGroups = (s: string): number[] =>
    s === '' ? [] : s.split(':').map((g) => Number.parseInt(g, 16));
  const [left = '', right] = text.split('::');
  const head = parseGroups(left);
  if (right === undefined) return head;
  const tail = parseGroups(right);
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

function embeddedV4(hi: number | undefined, lo: number | undefined): number {
  return (((hi ?? 0) << 16) | (lo ?? 0)) >>> 0;
}

function isBlockedV6(g: number[]): boolean {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6, g7] = g;
  const firstFiveZero = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0;
  // IPv4-mapped ::ffff:a.b.c.d: the kernel connects to the IPv4 address, so judge that.
  if (firstFiveZero && g5 === 0xffff) return isBlockedV4(embeddedV4(g6, g7));
  // ::/96 holds :: (unspecified), ::1 (loopback) and the deprecated IPv4-compatible form.
  if (firstFiveZero && g5 === 0) return true;
  // NAT64 well-known prefix 64:ff9b::/96 (RFC 6052) reaches the embedded IPv4 address.
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) {
    return isBlockedV4(embeddedV4(g6, g7));
  }
  // 6to4 2002::/16 (RFC 3056) embeds an IPv4 address in bits 16..47.
  if (g0 === 0x2002) return isBlockedV4(embeddedV4(g1, g2));
  // Only global unicast 2000::/3 is reachable; this refuses ULA fc00::/7 (incl. the AWS metadata
  // fd00:ec2::254), link-local fe80::/10, site-local fec0::/10, multicast ff00::/8, 64:ff9b:1::/48, 100::/64.
  if ((g0 & 0xe000) !== 0x2000) return true;
  // 2001::/23 IETF protocol assignments (Teredo 2001::/32, benchmarking, ORCHID) and documentation.
  if (g0 === 0x2001 && g1 < 0x200) return true;
  if (g0 === 0x2001 && g1 === 0xdb8) return true; // documentation (RFC 3849)
  if (g0 === 0x3fff && g1 < 0x1000) return true; // documentation 3fff::/20 (RFC 9637)
  return false;
}

/**
 * Whether an IP address (v4 or v6, optionally in brackets or with a zone id) may not be reached.
 * Anything that is not an IP address is refused too: this check fails closed.
 */
export function isBlockedAddress(ip: string): boolean {
  let text = ip.trim();
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  const zone = text.indexOf('%');
  if (zone !== -1) text = text.slice(0, zone);
  const v4 = parseIPv4(text);
  if (v4 !== undefined) return isBlockedV4(v4);
  const v6 = parseIPv6(text);
  if (v6 !== undefined && v6.length === 8) return isBlockedV6(v6);
  return true;
}

const BLOCKED_HOSTNAMES = new Set(['localhost', 'metadata.google.internal', 'metadata']);

export type OutboundUrlCheck = { ok: true } | { ok: false; reason: string };

/**
 * Registration-time check of a business or webhook URL. Names that resolve to private addresses are
 * caught again at connect time by the adapter dispatcher (which also defeats DNS rebinding).
 */
export function checkOutboundUrl(url: string, options: { allowPrivate: boolean }): OutboundUrlCheck {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, reason: 'URL is not valid.' };
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return { ok: false, reason: 'URL scheme must be http or https.' };
  }
  if (options.allowPrivate) return { ok: true };
  // The WHATWG parser already normalised 127.1 and 0x7f000001 to 127.0.0.1.
  let host = parsed.hostname.toLowerCase();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (isIPv4(host) || isIPv6(host)) {
    return isBlockedAddress(host)
      ? { ok: false, reason: 'URL points at a private, loopback, link-local or reserved address.' }
      : { ok: true };
  }
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (BLOCKED_HOSTNAMES.has(host) || host.endsWith('.localhost')) {
    return { ok: false, reason: `URL host ${host} is not allowed.` };
  }
  return { ok: true };
}
