import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import type { GatewayEnv } from '../env.ts';
import { agentAuth, memberAuth } from '../middleware/auth/index.ts';
import { rateLimit } from '../middleware/rate-limit/index.ts';
import type { Deps } from '../services/context.ts';
import { getReceiptOf, readCheckpoint, readConsistency, readEntries } from '../services/ledger/index.ts';
import { checkpointAnswer, consistencyAnswer, entriesAnswer, receiptAnswer } from './agp/answers.ts';
import { asAgent, asMember } from './context.ts';
import { route } from './openapi/route.ts';
import { parseQuery, pathParam } from './validate.ts';

const tag = 'Ledger log';
const size = z.coerce
  .number()
  .int()
  .min(1)
  .max(2 ** 31);
const checkpointQuery = z.object({ size: size.optional() }).strict();
const consistencyQuery = z.object({ from: size, to: size }).strict();
const entriesQuery = z
  .object({
    start: z.coerce
      .number()
      .int()
      .min(0)
      .max(2 ** 31)
      .default(0),
    limit: z.coerce.number().int().min(1).max(1_000).default(100),
  })
  .strict();

/**
 * The ledger log (DESIGN §9): receipts with their inclusion proofs, signed checkpoints, consistency
 * proofs and the entries themselves, so anyone holding a checkpoint can check the log still holds
 * what it signed. Agents read their workspace's on /agp, members theirs on /v1.
 */
export function registerLedgerRoutes(app: OpenAPIHono<GatewayEnv>, deps: Deps): void {
  const agent = agentAuth({ deps });
  const limited = rateLimit({ deps, limit: deps.config.rateLimitPerMinute });
  const member = memberAuth({ deps });

  route(
    app,
    {
      method: 'get',
      path: '/v1/receipts/:transactionId',
      operationId: 'getLedgerReceipt',
      tag,
      summary: "A settled transaction's signed receipt and its place in the ledger log",
      access: { principal: 'member' },
      responses: {
        200: { description: 'The receipt, its payload and its log place', schema: receiptAnswer },
      },
      errors: ['TRANSACTION_NOT_FOUND', 'RECEIPT_NOT_FOUND'],
    },
    member,
    async (c) =>
      c.json(await getReceiptOf({ ctx: asMember(deps, c), transactionId: pathParam(c, 'transactionId') })),
  );

  for (const surface of ['agp', 'v1'] as const) {
    const principal = surface === 'agp' ? 'agent' : 'member';
    const auth = surface === 'agp' ? [agent, limited] : [member];
    const as = surface === 'agp' ? asAgent : asMember;
    route(
      app,
      {
        method: 'get',
        path: `/${surface}/ledger/checkpoint`,
        operationId: surface === 'agp' ? 'agentGetLedgerCheckpoint' : 'getLedgerCheckpoint',
        tag,
        summary: "The newest signed checkpoint of the workspace's ledger log, or the one at `size`",
        access: { principal },
        query: checkpointQuery,
        responses: { 200: { description: 'The checkpoint and its payload', schema: checkpointAnswer } },
        errors: ['NOT_FOUND'],
      },
      ...auth,
      async (c) => c.json(await readCheckpoint({ ctx: as(deps, c), input: parseQuery(c, checkpointQuery) })),
    );
    route(
      app,
      {
        method: 'get',
        path: `/${surface}/ledger/consistency`,
        operationId: surface === 'agp' ? 'agentGetLedgerConsistency' : 'getLedgerConsistency',
        tag,
        summary: 'A consistency proof between the trees of `from` and `to` entries (RFC 9162 §2.1.4)',
        access: { principal },
        query: consistencyQuery,
        responses: { 200: { description: 'The proof', schema: consistencyAnswer } },
      },
      ...auth,
      async (c) =>
        c.json(await readConsistency({ ctx: as(deps, c), input: parseQuery(c, consistencyQuery) })),
    );
  }

  route(
    app,
    {
      method: 'get',
      path: '/v1/ledger/entries',
      operationId: 'listLedgerEntries',
      tag,
      summary: 'The entries of the ledger log in order, to rebuild its tree',
      access: { principal: 'member' },
      query: entriesQuery,
      responses: { 200: { description: 'A page of entries', schema: entriesAnswer } },
    },
    member,
    async (c) => c.json(await readEntries({ ctx: asMember(deps, c), input: parseQuery(c, entriesQuery) })),
  );
}
