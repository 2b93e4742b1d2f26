import { type LookupAddress, type LookupOptions, lookup } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import tls from 'node:tls';
import { Agent, buildConnector } from 'undici';
import { isBlockedAddress } from '../egress.ts';
import { AdapterError } from '../types.ts';

export interface AdapterDispatcherOptions {
  /** Connect, headers and body (idle) timeout, `ADAPTER_TIMEOUT_MS`. */
  timeoutMs: number;
  /** `EGRESS_ALLOW_PRIVATE`: when false, private, loopback, link-local and metadata addresses are refused. */
  allowPrivate: boolean;
  /** How long an idle keep-alive socket is kept (undici default 4 s). */
  keepAliveTimeoutMs?: number;
  /** Extra certificate authorities to trust (PEM), besides Node's; tests' loopback HTTPS stand-ins. */
  ca?: string;
}

export const OUTBOUND_NOT_ALLOWED = 'Outbound address not allowed';

function notAllowed(): AdapterError {
  return new AdapterError('ADAPTER_ERROR', OUTBOUND_NOT_ALLOWED);
}

/**
 * Resolves like dns.lookup and refuses the connection when any resolved address is blocked. Checking the
 * address the socket actually connects to (not the name checked at registration) defeats DNS rebinding.
 */
const guardedLookup: LookupFunction = (hostname, options, callback) => {
  const all: LookupOptions & { all: true } = { ...options, all: true };
  lookup(hostname, all, (err, addresses: LookupAddress[]) => {
    if (err) return callback(err, '');
    if (addresses.length === 0 || addresses.some((a) => isBlockedAddress(a.address))) {
      return callback(notAllowed(), '');
    }
    if (options.all) return callback(null, addresses);
    const first = addresses[0];
    return first ? callback(null, first.address, first.family) : callback(notAllowed(), '');
  });
};

/**
 * The undici Agent every http adapter shares: a keep-alive pool per origin, connect/headers/body timeouts,
 * and an egress guard in the connect step unless private addresses are allowed.
 */
export function createAdapterDispatcher({
  timeoutMs,
  allowPrivate,
  keepAliveTimeoutMs = 4_000,
  ca,
}: AdapterDispatcherOptions): Agent {
  const timeouts = {
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    keepAliveTimeout: keepAliveTimeoutMs,
  };
  const trust = ca ? { ca: [...tls.rootCertificates, ca] } : {};
  if (allowPrivate) return new Agent({ ...timeouts, connect: { timeout: timeoutMs, ...trust } });

  const connector = buildConnector({ timeout: timeoutMs, lookup: guardedLookup, ...trust });
  const guardedConnector: buildConnector.connector = (options, callback) => {
    // net.connect skips the lookup for a literal IP (undici already removed IPv6 brackets), so check it here.
    if (isIP(options.hostname) !== 0 && isBlockedAddress(options.hostname)) {
      callback(notAllowed(), null);
      return;
    }
    connector(options, callback);
  };
  return new Agent({ ...timeouts, connect: guardedConnector });
}
