import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepOnce, TOKEN_SWEEP_GRACE_MS } from '../../gateway/services/housekeeping/index.ts';
import { DIALECTS } from '../support/dialects.ts';
import {
  addAgentKey,
  call,
  createTenant,
  registerHttpBusiness,
  startTestGateway,
  startUpstream,
  type Tenant,
  type TestGateway,
  type Upstream,
} from '../support/harness.ts';

// DESIGN §4 (normative): the exact sentences and codes, in check order.
const REQUIRED = {
  error: 'Execute confirmation required. Provide x-confirmation-token header.',
  code: 'CONFIRMATION_REQUIRED',
};
const UNVERIFIABLE = {
  error: 'Unable to validate confirmation token for execute payload.',
  code: 'CONFIRMATION_UNVERIFIABLE',
};
const INVALID = { error: 'Invalid confirmation token.', code: 'CONFIRMATION_INVALID' };
const EXPIRED = { error: 'Confirmation token expired. Prepare a new token.', code: 'CONFIRMATION_EXPIRED' };
const MISMATCH = {
  error: 'Confirmation token does not match this execute request.',
  code: 'CONFIRMATION_MISMATCH',
};
const overCeiling = (n: number) => ({
  error: `Execute amount exceeds policy limit (${n} cents).`,
  code: 'AMOUNT_LIMIT_EXCEEDED',
});

const MODES_BY_DIALECT = DIALECTS.flatMap((dialect) =>
  (['confirm', 'strict'] as const).map((mode) => [mode, dialect] as const),
);

describe.each(MODES_BY_DIALECT)('execute mode %s on %s', (mode, dialect) => {
  let gw: TestGateway;
  let upstream: Upstream;
  let tenant: Tenant;
  let shop: string;
  const request = { sku: 'coffee', amount_cents: 90 };

  beforeAll(async () => {
    upstream = await startUpstream();
    gw = await startTestGateway({
      env: { AGENR_EXECUTE_POLICY: mode, AGENR_MAX_EXECUTE_AMOUNT: '100' },
      dialect,
    });
    tenant = await createTenant(gw);
    shop = (await registerHttpBusiness(gw, upstream.url)).id;
  });
  afterAll(async () => {
    await gw.dispose();
    await upstream.close();
  });

  const prepare = async (body: unknown, key = tenant.agentKey) => {
    const res = await call(gw, 'POST', '/agp/execute/prepare', { key, body });
    expect(res.status).toBe(200);
    return res.body.confirmationToken as string;
  };
  const execute = (body: unknown, token?: string, key = tenant.agentKey, rawBody?: string) =>
    call(gw, 'POST', '/agp/execute', {
      key,
      body: rawBody === undefined ? body : undefined,
      rawBody,
      headers: {
        ...(token ? { 'X-Confirmation-Token': token } : {}),
        ...(rawBody === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
    });
  const expectRefusal = (res: { status: number; body: Record<string, unknown> }, refusal: object) => {
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject(refusal);
    expect(typeof res.body.requestId).toBe('string');
  };

  it('prepare then execute succeeds and reaches the business once', async () => {
    const before = upstream.requests.length;
    const token = await prepare({ businessId: shop, request });
    const res = await execute({ businessId: shop, request }, token);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'succeeded', data: { ok: true } });
    expect(String(res.body.transactionId)).toMatch(/^txn_/);
    expect(upstream.requests.length).toBe(before + 1);
  });

  it('prepare answers a token, its expiry and a summary', async () => {
    const res = await call(gw, 'POST', '/agp/execute/prepare', {
      key: tenant.agentKey,
      body: { businessId: shop, request },
    });
    expect(res.body.confirmationToken).toMatch(/^wct_[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(String(res.body.expiresAt)) - gw.now.value).toBe(300_000);
    expect(typeof res.body.summary).toBe('string');
  });

  it('other routes pass untouched by the mode', async () => {
    const query = await call(gw, 'POST', '/agp/query', {
      key: tenant.agentKey,
      body: { businessId: shop, request },
    });
    expect(query.status).toBe(200);
    const discover = await call(gw, 'POST', '/agp/discover', {
      key: tenant.agentKey,
      body: { businessId: shop },
    });
    expect(discover.status).toBe(200);
  });

  it('without the header: confirmation required', async () => {
    expectRefusal(await execute({ businessId: shop, request }), REQUIRED);
  });

  it('without the header, even an unreadable body is told a token is required first', async () => {
    expectRefusal(await execute(undefined, undefined, tenant.agentKey, '{not json'), REQUIRED);
  });

  it('a body that is not JSON or lacks businessId/request is unverifiable', async () => {
    const token = await prepare({ businessId: shop, request });
    expectRefusal(await execute(undefined, token, tenant.agentKey, '{not json'), UNVERIFIABLE);
    expectRefusal(await execute({ request }, token), UNVERIFIABLE);
    expectRefusal(await execute({ businessId: shop }, token), UNVERIFIABLE);
    // None of these consumed it.
    expect((await execute({ businessId: shop, request }, token)).status).toBe(200);
  });

  it('an unknown token is invalid', async () => {
    expectRefusal(await execute({ businessId: shop, request }, 'wct_made-up'), INVALID);
  });

  it('a consumed token is invalid', async () => {
    const token = await prepare({ businessId: shop, request });
    expect((await execute({ businessId: shop, request }, token)).status).toBe(200);
    expectRefusal(await execute({ businessId: shop, request }, token), INVALID);
  });

  it("another agent key's token is invalid, and stays usable by its own key", async () => {
    const other = await addAgentKey(gw, tenant, `other-${mode}`);
    const token = await prepare({ businessId: shop, request }, other);
    expectRefusal(await execute({ businessId: shop, request }, token), INVALID);
    expect((await execute({ businessId: shop, request }, token, other)).status).toBe(200);
  });

  it('an expired token is refused as expired on every presentation until the sweep, then unknown', async () => {
    const token = await prepare({ businessId: shop, request });
    const start = gw.now.value;
    gw.now.advance(300_001);
    try {
      for (let i = 0; i < 3; i++) {
        expectRefusal(await execute({ businessId: shop, request }, token), EXPIRED);
      }
      // The sweep removes tokens an hour after they expired; not before.
      await sweepOnce(gw.deps);
      expectRefusal(await execute({ businessId: shop, request }, token), EXPIRED);
      gw.now.advance(TOKEN_SWEEP_GRACE_MS);
      await sweepOnce(gw.deps);
      expectRefusal(await execute({ businessId: shop, request }, token), INVALID);
    } finally {
      gw.now.value = start;
    }
  });

  it('a different request or business is a mismatch and does not consume the token', async () => {
    const token = await prepare({ businessId: shop, request });
    expectRefusal(await execute({ businessId: shop, request: { ...request, sku: 'tea' } }, token), MISMATCH);
    expectRefusal(await execute({ businessId: 'elsewhere', request }, token), MISMATCH);
    expect((await execute({ businessId: shop, request }, token)).status).toBe(200);
  });

  it('binds to the RFC 8785 canonical form: key order does not matter', async () => {
    const token = await prepare({ businessId: shop, request: { a: 1, b: 2 } });
    const raw = `{"request":{"b":2,"a":1},"businessId":"${shop}"}`;
    const res = await execute(undefined, token, tenant.agentKey, raw);
    expect(res.status).toBe(200);
  });

  if (mode === 'strict') {
    it('prepare refuses an amount over the ceiling up front', async () => {
      const res = await call(gw, 'POST', '/agp/execute/prepare', {
        key: tenant.agentKey,
        body: { businessId: shop, request: { amount_cents: 101 } },
      });
      expectRefusal(res, overCeiling(100));
    });

    it('reads amount when amount_cents is absent, numbers and numeric strings alike', async () => {
      for (const amount of [150, '150']) {
        const res = await call(gw, 'POST', '/agp/execute/prepare', {
          key: tenant.agentKey,
          body: { businessId: shop, request: { amount } },
        });
        expectRefusal(res, overCeiling(100));
      }
      expect(await prepare({ businessId: shop, request: { amount: '100' } })).toMatch(/^wct_/);
    });

    it('an amount the ceiling cannot read is refused, not waved through (prepare and execute)', async () => {
      const unreadable: [Record<string, unknown>, string][] = [
        [{ amount_cents: '25.50' }, 'request.amount_cents'],
        [{ amount_cents: -5 }, 'request.amount_cents'],
        [{ amount_cents: 'lots', amount: 50 }, 'request.amount_cents'],
        [{ amount: '1e9' }, 'request.amount'],
      ];
      for (const [request, path] of unreadable) {
        const res = await call(gw, 'POST', '/agp/execute/prepare', {
          key: tenant.agentKey,
          body: { businessId: shop, request },
        });
        expect(res.status).toBe(400);
        expect(res.body).toMatchObject({ code: 'VALIDATION_ERROR', details: [{ path }] });
      }
      // Prepared while readable elsewhere, presented here: the token checks pass, the amount does not.
      const lenient = await startTestGateway({ db: gw.db, env: { AGENR_EXECUTE_POLICY: 'confirm' } });
      try {
        const body = { businessId: shop, request: { amount_cents: '99999.5' } };
        const res = await call(lenient, 'POST', '/agp/execute/prepare', { key: tenant.agentKey, body });
        const token = res.body.confirmationToken as string;
        const refused = await execute(body, token);
        expect(refused.status).toBe(400);
        expect(refused.body).toMatchObject({
          code: 'VALIDATION_ERROR',
          details: [{ path: 'request.amount_cents' }],
        });
      } finally {
        await lenient.dispose();
      }
    });

    it('execute checks the ceiling after the token (a token prepared under a higher ceiling)', async () => {
      const generous = await startTestGateway({
        db: gw.db,
        env: { AGENR_EXECUTE_POLICY: 'strict', AGENR_MAX_EXECUTE_AMOUNT: '1000' },
      });
      try {
        const big = { businessId: shop, request: { amount_cents: 500 } };
        const res = await call(generous, 'POST', '/agp/execute/prepare', { key: tenant.agentKey, body: big });
        const token = res.body.confirmationToken as string;
        expectRefusal(await execute(big, token), overCeiling(100));
        // Refused before admission: the token still works where the ceiling allows it.
        const ok = await call(generous, 'POST', '/agp/execute', {
          key: tenant.agentKey,
          body: big,
          headers: { 'X-Confirmation-Token': token },
        });
        expect(ok.status).toBe(200);
      } finally {
        await generous.dispose();
      }
    });
  }
});

describe('execute mode open', () => {
  let gw: TestGateway;
  let upstream: Upstream;
  let tenant: Tenant;
  let shop: string;

  beforeAll(async () => {
    upstream = await startUpstream();
    gw = await startTestGateway({ env: { AGENR_EXECUTE_POLICY: 'open' } });
    tenant = await createTenant(gw);
    shop = (await registerHttpBusiness(gw, upstream.url)).id;
  });
  afterAll(async () => {
    await gw.dispose();
    await upstream.close();
  });

  it('needs no token and ignores a bogus one; amounts are not capped', async () => {
    const body = { businessId: shop, request: { amount_cents: 1_000_000 } };
    expect((await call(gw, 'POST', '/agp/execute', { key: tenant.agentKey, body })).status).toBe(200);
    const withJunk = await call(gw, 'POST', '/agp/execute', {
      key: tenant.agentKey,
      body,
      headers: { 'X-Confirmation-Token': 'junk' },
    });
    expect(withJunk.status).toBe(200);
  });

  it('an invalid body is a validation error with paths', async () => {
    const res = await call(gw, 'POST', '/agp/execute', { key: tenant.agentKey, body: { businessId: shop } });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_ERROR');
    expect(res.body.details).toEqual([expect.objectContaining({ path: 'request' })]);
  });
});
