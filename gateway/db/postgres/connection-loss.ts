import { GatewayError } from '../../domain/errors.ts';

/**
 * What a lost connection looks like (DESIGN §8: a replica survives losing any of its connections).
 * postgres.js names its own (`CONNECTION_CLOSED` when the socket went away, `CONNECT_TIMEOUT`…),
 * Node the socket's, and the server sends SQLSTATE class 08 (connection exception), 57P01–57P03
 * (`pg_terminate_backend`, a crash, a server starting or stopping) or 53300 (no slot left).
 */
const DRIVER_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECTION_ENDED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const SERVER_CODES = new Set(['57P01', '57P02', '57P03', '53300']);

export function isConnectionLoss(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return DRIVER_CODES.has(code) || SERVER_CODES.has(code) || code.startsWith('08');
}

/** The connection went away while COMMIT was on its way: the transaction may or may not have committed. */
export class CommitUnknown extends Error {
  override readonly name = 'CommitUnknown';
  constructor(cause: unknown) {
    super('The connection was lost while committing.', { cause });
  }
}

/**
 * 503 DATABASE_UNAVAILABLE: the request failed cleanly and may be repeated. `committed: 'unknown'`
 * when its write may have landed: a repeat with the same Idempotency-Key finds out which.
 */
export function databaseUnavailable(cause: unknown, committed: 'no' | 'unknown' = 'no'): GatewayError {
  return new GatewayError(
    'DATABASE_UNAVAILABLE',
    'The database is unavailable; try again shortly.',
    committed === 'unknown' ? { committed } : undefined,
    { cause, headers: { 'Retry-After': '1' } },
  );
}
