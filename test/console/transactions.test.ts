import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyKey } from '../e2e/support.ts';
import {
  addAgentKey,
  call,
  createTenant,
  registerEcho,
  sequence,
  startTestGateway,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';
import { open, page, signIn } from './support.ts';

/**
 * The console's ledger (issue 14 item 3): filters in the URL (status, business, agent, amount,
 * from/to) over the same service as GET /v1/transactions, cursor paging that keeps the filters,
 * and a detail page with the decision, the approval and the receipt with its verification.
 */

const DAY = 86_400_000;

interface Row {
  transactionId: string;
  status: string;
  businessId: string | null;
  agentId: string;
  amount: number | null;
  createdAt: string;
}

let gw: TestGateway;
let tenant: Tenant;
let cookie: string;
let all: Row[];
let secondKey: string;

beforeAll(async () => {
  gw = await startTestGateway();
  tenant = await createTenant(gw, { name: 'Acme', agentId: 'agent-1' });
  secondKey = await addAgentKey(gw, tenant, 'agent-2');
  await registerEcho(gw, 'echo');
  await registerEcho(gw, 'echo2');
  const plan: [string, string, number][] = [
    [tenant.agentKey, 'echo', 10],
    [secondKey, 'echo2', 50],
    [tenant.agentKey, 'echo2', 90],
    [secondKey, 'echo', 30],
    [tenant.agentKey, 'echo', 70],
  ];
  for (const [key, businessId, amount] of plan) {
    const res = await call(gw, 'POST', '/agp/execute', {
      key,
      body: { businessId, request: { sku: 'sticker', quantity: 1, amount_cents: amount } },
    });
    expect(res.status).toBe(200);
    gw.now.advance(DAY);
  }
  // One that is not an execute: a discover (no amount).
  await call(gw, 'POST', '/agp/discover', { key: secondKey, body: { businessId: 'echo' } });
  const listed = await call(gw, 'GET', '/v1/transactions?limit=200', { key: tenant.adminToken });
  all = listed.body.transactions as Row[];
  cookie = await signIn(gw, tenant.adminToken);
});
afterAll(() => gw?.dispose());

const idsIn = (html: string) => [...html.matchAll(/data-transaction="([^"]+)"/g)].map((m) => m[1] as string);
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

describe('the list', () => {
  const start = Date.parse('2026-11-24T12:00:00Z');
  const cases: [string, (r: Row) => boolean][] = [
    ['', () => true],
    ['status=succeeded', (r) => r.status === 'succeeded'],
    ['business=echo2', (r) => r.businessId === 'echo2'],
    ['agent=agent-2', (r) => r.agentId === 'agent-2'],
    ['min=30&max=70', (r) => r.amount !== null && r.amount >= 30 && r.amount <= 70],
    ['min=60', (r) => r.amount !== null && r.amount >= 60],
    [
      `from=${day(start + DAY)}&to=${day(start + 2 * DAY)}`,
      (r) =>
        Date.parse(r.createdAt) >= start + DAY - 12 * 3_600_000 &&
        Date.parse(r.createdAt) < start + 2 * DAY + 12 * 3_600_000,
    ],
    [
      'agent=agent-1&business=echo&min=50',
      (r) => r.agentId === 'agent-1' && r.businessId === 'echo' && (r.amount ?? 0) >= 50,
    ],
  ];

  it.each(cases)('?%s shows what the ledger holds for it, newest first', async (query, keep) => {
    const { html } = await open(gw, `/console/transactions${query ? `?${query}` : ''}`, cookie);
    const expected = all.filter(keep).map((r) => r.transactionId);
    expect(expected.length).toBeGreaterThan(0);
    expect(idsIn(html)).toEqual(expected);
  });

  it('filters by amount on the API too (GET /v1/transactions?amountMin&amountMax)', async () => {
    const res = await call(gw, 'GET', '/v1/transactions?amountMin=30&amountMax=70', {
      key: tenant.adminToken,
    });
    expect(res.status).toBe(200);
    const ids = (res.body.transactions as Row[]).map((r) => r.transactionId);
    expect(ids).toEqual(
      all.filter((r) => r.amount !== null && r.amount >= 30 && r.amount <= 70).map((r) => r.transactionId),
    );
  });

  it('keeps the filters in the form (the URL is the state)', async () => {
    const { html } = await open(gw, '/console/transactions?status=succeeded&agent=agent-2&min=5', cookie);
    expect(html).toContain('<option value="succeeded" selected');
    expect(html).toMatch(/id="f-agent" name="agent" value="agent-2"/);
    expect(html).toMatch(/id="f-min" name="min" inputmode="numeric" value="5"/);
  });

  it('pages with a cursor that keeps the filters, until the last page', async () => {
    const expected = all.filter((r) => r.agentId === 'agent-1').map((r) => r.transactionId);
    const seen: string[] = [];
    let next: string | undefined = '/console/transactions?agent=agent-1&limit=2';
    let pages = 0;
    while (next) {
      const { html } = await open(gw, next, cookie);
      seen.push(...idsIn(html));
      const older = /<a href="([^"]+)" rel="next"/.exec(html)?.[1]?.replace(/&amp;/g, '&');
      if (older) expect(older).toContain('agent=agent-1');
      next = older;
      pages += 1;
    }
    expect(seen).toEqual(expected);
    expect(pages).toBe(Math.ceil(expected.length / 2));
  });

  it('says what is wrong with a filter instead of ignoring it (400)', async () => {
    for (const query of ['min=abc', 'status=nope', 'from=yesterday', 'limit=0']) {
      const res = await page(gw, `/console/transactions?${query}`, cookie);
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('class="notice error"');
    }
  });
});

describe('the detail', () => {
  it('shows the decision, the request and the receipt, verified', async () => {
    const key = await policyKey(gw, tenant, 'open-door', { default_action: 'auto_approve', rules: [] });
    const res = await call(gw, 'POST', '/agp/execute', {
      key,
      body: { businessId: 'echo', request: { sku: 'sticker', quantity: 1, amount_cents: 20 } },
    });
    expect(res.status).toBe(200);
    const id = res.body.transactionId as string;
    // Signed and stored at once; verified once the ledger log has appended it (issue 20).
    const early = await open(gw, `/console/transactions/${id}`, cookie);
    expect(early.html).toMatch(/id="receipt-state"><span class="badge">awaiting the log<\/span>/);
    await sequence(gw);
    const { html } = await open(gw, `/console/transactions/${id}`, cookie);
    expect(html).toContain(id);
    expect(html).toContain('<dd id="outcome">auto_approve</dd>');
    expect(html).toMatch(/id="receipt-state"><span class="badge good">verified<\/span>/);
    expect(html).toMatch(
      /entry \d+ of this workspace&#39;s ledger log, included in the checkpoint of \d+ entries/,
    );
    expect(html).toContain('Every check of the decision');
    expect(html).toContain('&quot;sku&quot;: &quot;sticker&quot;');
  });

  it('answers a transaction of another workspace as unknown (404)', async () => {
    const other = await createTenant(gw, { name: 'Other' });
    const otherCookie = await signIn(gw, other.adminToken);
    const res = await page(gw, `/console/transactions/${all[0]?.transactionId}`, otherCookie);
    expect(res.status).toBe(404);
  });
});
