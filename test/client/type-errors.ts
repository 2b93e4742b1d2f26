import type { WardenClient } from '../../client/src/index.ts';
import type { ErrorCode, ExecuteBody, ReceiptLog, StatusAnswer } from '../../client/src/types.ts';

/**
 * Compile-time checks of the types generated from the OpenAPI document: every line under a
 * `@ts-expect-error` must fail to compile (`npm run typecheck` reports an unused directive
 * otherwise), and test/client/types.test.ts checks that each fails for the reason named.
 * Never called.
 */
export function wrongFields(client: WardenClient, status: StatusAnswer): unknown[] {
  // @ts-expect-error the execute body's field is `businessId`
  const misspelt: ExecuteBody = { businessID: 'shop', request: {} };
  // @ts-expect-error a request is an object, not a sentence
  const sentence = client.query({ businessId: 'shop', request: 'buy a desk' });
  // @ts-expect-error a status answer has no `state`
  const state = status.state;
  // @ts-expect-error `sucess` is not a transaction status
  const typo = status.status === 'sucess';
  // @ts-expect-error a log index is a number
  const log: ReceiptLog = { index: '0', size: 1, inclusionProof: [], checkpoint: 'a.b.c' };
  // @ts-expect-error no agent route answers this code
  const code: ErrorCode = 'PAYMENT_REQUIRED';
  return [misspelt, sentence, state, typo, log, code];
}
