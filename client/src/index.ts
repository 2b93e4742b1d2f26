/**
 * `@warden/client`, the browser and edge entry: fetch and Web Crypto only, no Node built-ins
 * (lint refuses them here; test/client/entries.test.ts bundles this entry for the browser).
 */
export type { RetryOptions } from './backoff.ts';
export {
  type AutoPrepare,
  type Decided,
  type Executed,
  type ExecuteOptions,
  type Parked,
  type WaitOptions,
  WardenClient,
  type WardenClientOptions,
} from './client.ts';
export {
  ConfirmationError,
  OutcomeUnknownError,
  type PolicyRefusal,
  PolicyRejectedError,
  RateLimitedError,
  WardenError,
  WardenNetworkError,
} from './errors.ts';
export {
  type ConsistencyCheck,
  checkConsistencyWith,
  type InclusionCheck,
  jwksResolver,
  type ReceiptClaims,
  type ReceiptVerification,
  type VerifyReceiptInput,
  verifyReceiptWith,
} from './receipts.ts';
export type * from './types.ts';
