/**
 * Infrastructure the verbs lean on: circuit breakers and bulkheads per business, the config cache,
 * readiness, and resealing secrets under a new key.
 */
export { Breakers, isBreakerFailure, REJECTED } from './breaker.ts';
export { Bulkheads } from './bulkhead.ts';
export { ConfigCache } from './config-cache.ts';
export { createKeyring, type Keyring } from './keyring.ts';
export { checkReadiness, type ReadinessState } from './readiness.ts';
export { resealSecrets } from './secrets.ts';
