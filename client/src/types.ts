import type { paths } from './generated/openapi.ts';

/**
 * The agent API's bodies and answers, taken from the types generated from the gateway's OpenAPI
 * document (generated/openapi.ts) by path, method and status: nothing here is written by hand.
 */

type Method = 'get' | 'post';
type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
type JsonOf<T> = T extends { content: { 'application/json': infer Body } } ? Body : never;

/** The JSON answer of `M P` with `status`. */
export type Answer<P extends keyof paths, M extends Method, S extends number> =
  Operation<P, M> extends {
    responses: infer R;
  }
    ? S extends keyof R
      ? JsonOf<R[S]>
      : never
    : never;

/** The JSON body `M P` takes. */
export type RequestBody<P extends keyof paths, M extends Method> =
  Operation<P, M> extends {
    requestBody: infer B;
  }
    ? JsonOf<NonNullable<B>>
    : never;

export type DiscoverBody = RequestBody<'/agp/discover', 'post'>;
export type DiscoverAnswer = Answer<'/agp/discover', 'post', 200>;
export type QueryBody = RequestBody<'/agp/query', 'post'>;
export type QueryAnswer = Answer<'/agp/query', 'post', 200>;
export type ExecuteBody = RequestBody<'/agp/execute', 'post'>;
export type PrepareAnswer = Answer<'/agp/execute/prepare', 'post', 200>;
/** 200: the business answered (`succeeded`, `failed` or `pending_confirmation`). */
export type ExecutedAnswer = Answer<'/agp/execute', 'post', 200>;
/** 202: parked for approval (`pending_approval`) or a time window (`queued`). */
export type ParkedAnswer = Answer<'/agp/execute', 'post', 202>;
export type StatusAnswer = Answer<'/agp/status/{transactionId}', 'get', 200>;
export type TransactionStatus = StatusAnswer['status'];
export type BusinessesAnswer = Answer<'/agp/businesses', 'get', 200>;
export type BusinessesQuery = NonNullable<Operation<'/agp/businesses', 'get'>['parameters']['query']>;
export type ReceiptAnswer = Answer<'/agp/receipts/{transactionId}', 'get', 200>;
export type ReceiptLog = NonNullable<ReceiptAnswer['log']>;
export type CheckpointAnswer = Answer<'/agp/ledger/checkpoint', 'get', 200>;
export type CheckpointPayload = CheckpointAnswer['payload'];
export type ConsistencyAnswer = Answer<'/agp/ledger/consistency', 'get', 200>;
export type JwkSet = Answer<'/.well-known/warden-keys', 'get', 200>;

type AnyAnswer = {
  [P in keyof paths]: {
    [M in Method]: Operation<P, M> extends { responses: infer R } ? JsonOf<R[keyof R]> : never;
  }[Method];
}[keyof paths];

/** The error envelope of the agent routes: `{error, code, requestId, details?}`. */
export type ErrorBody = Extract<AnyAnswer, { code: string; error: string }>;
/** Every error code an agent route documents. */
export type ErrorCode = ErrorBody['code'];
