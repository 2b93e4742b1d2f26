import type { Hono } from 'hono';
import { GatewayError } from '../../domain/index.ts';
import type { GatewayEnv } from '../../env.ts';
import { agentAuth } from '../../middleware/auth/index.ts';
import { rateLimit } from '../../middleware/rate-limit/index.ts';
import { listBusinesses } from '../../services/businesses.ts';
import type { Deps } from '../../services/context.ts';
import { executeRequest } from '../../services/execute.ts';
import { discover, query } from '../../services/operations.ts';
import { prepareExecute } from '../../services/prepare.ts';
import { getReceiptOf } from '../../services/receipts.ts';
import { getTransactionStatus } from '../../services/status.ts';
import { asAgent } from '../context.ts';
import { parseBody, parseQuery, readJson, toIssues } from '../validate.ts';
import { businessesQuery, discoverBody, idempotencyKeySchema, operationBody } from './schema.ts';

/** The agent API (DESIGN §4): parse, call the service, map the answer. */
export function registerAgpRoutes(app: Hono<GatewayEnv>, deps: Deps): void {
  const auth = (scope?: 'discover' | 'query' | 'execute') => agentAuth({ deps, scope });
  // After auth: counted per agent key in the database, shared by every replica (RATE_LIMIT_PER_MINUTE).
  const limited = rateLimit({ deps, limit: deps.config.rateLimitPerMinute });

  app.post('/agp/discover', auth('discover'), limited, async (c) => {
    const body = await parseBody(c, discoverBody);
    c.var.log.businessId = body.businessId;
    const result = await discover({
      ctx: asAgent(deps, c),
      input: { agent: c.var.agent, businessId: body.businessId, signal: c.req.raw.signal },
    });
    c.var.log.transactionId = result.transactionId;
    c.var.log.upstreamMs = result.upstreamMs;
    return c.json({ transactionId: result.transactionId, status: result.status, data: result.data });
  });

  app.post('/agp/query', auth('query'), limited, async (c) => {
    const body = await parseBody(c, operationBody);
    c.var.log.businessId = body.businessId;
    const result = await query({
      ctx: asAgent(deps, c),
      input: { agent: c.var.agent, ...body, signal: c.req.raw.signal },
    });
    c.var.log.transactionId = result.transactionId;
    c.var.log.upstreamMs = result.upstreamMs;
    return c.json({ transactionId: result.transactionId, status: result.status, data: result.data });
  });

  app.post('/agp/execute/prepare', auth('execute'), limited, async (c) => {
    const body = await parseBody(c, operationBody);
    c.var.log.businessId = body.businessId;
    return c.json(await prepareExecute({ ctx: asAgent(deps, c), agent: c.var.agent, input: body }));
  });

  app.post('/agp/execute', auth('execute'), limited, async (c) => {
    const idempotencyKey = c.req.header('Idempotency-Key');
    if (idempotencyKey !== undefined && !idempotencyKeySchema.safeParse(idempotencyKey).success) {
      throw new GatewayError('VALIDATION_ERROR', 'Idempotency-Key must be 1 to 255 characters.');
    }
    const json = await readJson(c);
    const parsed = json.ok ? operationBody.safeParse(json.value) : undefined;
    const answer = await executeRequest({
      ctx: asAgent(deps, c),
      input: {
        agent: c.var.agent,
        body: parsed?.success
          ? { ok: true, value: parsed.data }
          : {
              ok: false,
              issues: parsed ? toIssues(parsed.error) : [{ path: '', message: 'The body must be JSON.' }],
            },
        confirmationToken: c.req.header('X-Confirmation-Token') || undefined,
        idempotencyKey,
      },
    });
    const log = c.var.log;
    log.businessId = parsed?.data?.businessId;
    log.transactionId = answer.transactionId;
    log.upstreamMs = answer.upstreamMs;
    log.decision = answer.decision;
    if (answer.replayed) {
      log.replayed = true;
      c.header('Idempotent-Replayed', 'true');
      const body = answer.response.body as Record<string, unknown>;
      const status = answer.response.status as 200;
      // A replayed refusal carries this request's id, as every error does.
      return c.json('code' in body ? { ...body, requestId: c.var.requestId } : body, status);
    }
    return c.json(answer.response.body as Record<string, unknown>, answer.response.status as 200);
  });

  app.get('/agp/status/:transactionId', auth(), limited, async (c) =>
    c.json(
      await getTransactionStatus({ ctx: asAgent(deps, c), transactionId: c.req.param('transactionId') }),
    ),
  );

  app.get('/agp/receipts/:transactionId', auth(), limited, async (c) =>
    c.json(await getReceiptOf({ ctx: asAgent(deps, c), transactionId: c.req.param('transactionId') })),
  );

  app.get('/agp/businesses', auth(), limited, async (c) => {
    const filter = parseQuery(c, businessesQuery);
    return c.json({ businesses: await listBusinesses({ ctx: asAgent(deps, c), filter }) });
  });
}
