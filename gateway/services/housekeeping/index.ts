/**
 * Clean-up off the request path (DESIGN §8): expired tokens, idempotency records, rate counters and
 * console sessions. Above the other folders, as it sweeps what several of them leave behind.
 */
export { sweepOnce, TOKEN_SWEEP_GRACE_MS } from './sweep.ts';
