import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envSchema } from '../../config/index.ts';
import { POLICIES_MD, renderPolicyReference, slug } from '../../docs/generate-policy-reference.ts';
import { releaseDue } from '../../gateway/jobs/release-queued.ts';
import { registerBusiness } from '../../gateway/services/businesses.ts';
import { compilePolicy, policySchema, validatePolicy } from '../../policy/index.ts';
import {
  call,
  createTenant,
  operator,
  startTestGateway,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';

/**
 * The manual cannot rot: every example in examples/policies is validated with the real schema,
 * compiled, stored and simulated through the real HTTP API against the request it is documented
 * with; docs/policies.md shows each one verbatim, every policy-shaped JSON block in it validates, and
 * its generated reference tables match the schema. Around them: docs/operations.md lists every
 * environment variable the gateway reads, and every relative link of the manual, the README,
 * CONTRIBUTING.md and gateway/services/README.md points at a file and heading that exist.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLES_DIR = join(ROOT, 'examples/policies/');
const EXAMPLES = [
  'approval-over-amount',
  'category-blocklist',
  'conditions',
  'evaluate-only',
  'first-time-business',
  'office-hours-queue',
  'quorum',
  'spend-limits',
  'two-stages-with-otp',
] as const;
type Example = (typeof EXAMPLES)[number];

const load = (name: Example): Record<string, unknown> =>
  JSON.parse(readFileSync(`${EXAMPLES_DIR}${name}.json`, 'utf8'));
const manual = () => readFileSync(POLICIES_MD, 'utf8');
const MARKDOWN = [
  'README.md',
  'CONTRIBUTING.md',
  'gateway/services/README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** The anchors Git hosts give a Markdown file's headings (fenced code skipped; repeats get -1, -2, …). */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6} (.+)$/.exec(line);
    if (!heading) continue;
    const base = slug((heading[1] as string).replace(/`/g, ''));
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    out.add(count === 0 ? base : `${base}-${count}`);
  }
  return out;
}

/** Every ```json block of a Markdown text, parsed (blocks that are not JSON are an error). */
function jsonBlocks(markdown: string): unknown[] {
  return [...markdown.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1] as string));
}

interface Decision {
  outcome: 'auto_approve' | 'reject' | 'approval' | 'queue';
  ruleId?: string;
  reason?: string;
  releaseAt?: string;
  stages?: { index: number; role: string; tier: string; quorum: number }[];
  checks: { control: string; id?: string; result: string; detail: string }[];
  policy: { name: string; version: number };
}

describe('the policy examples (examples/policies, docs/policies.md)', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway();
    // Echo businesses of the categories the examples talk about. The gateway's clock starts on
    // Tuesday 2026-11-24, 12:00 UTC.
    for (const [id, category] of [
      ['shop', 'retail'],
      ['grocer', 'food'],
      ['casino', 'gambling'],
      ['acme-travel', 'travel'],
    ] as const) {
      await registerBusiness({
        ctx: operator(gw),
        input: { id, name: id, category, adapter: { type: 'echo' } },
      });
    }
  });
  afterAll(async () => {
    await gw.dispose();
  });

  /** A workspace of its own (spend and history are per workspace) with the example stored under its name. */
  async function workspaceWith(name: Example): Promise<Tenant> {
    const tenant = await createTenant(gw, { name });
    const put = await call(gw, 'PUT', `/v1/policies/${name}`, { key: tenant.adminToken, body: load(name) });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    return tenant;
  }

  async function simulate(
    tenant: Tenant,
    name: Example,
    body: { businessId: string; request: Record<string, unknown>; agentId?: string; at?: string },
  ): Promise<Decision> {
    const res = await call(gw, 'POST', `/v1/policies/${name}/simulate`, { key: tenant.adminToken, body });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.decision as Decision;
  }

  /** An agent key bound to the example's policy. */
  async function keyFor(tenant: Tenant, name: Example, agentId = 'agent-1'): Promise<string> {
    const res = await call(gw, 'POST', '/v1/keys', {
      key: tenant.adminToken,
      body: { agentId, policy: name },
    });
    expect(res.status).toBe(201);
    return res.body.key as string;
  }

  const execute = (key: string, businessId: string, request: Record<string, unknown>) =>
    call(gw, 'POST', '/agp/execute', { key, body: { businessId, request } });

  async function member(tenant: Tenant, role: 'admin' | 'approver'): Promise<string> {
    const res = await call(gw, 'POST', '/v1/members', {
      key: tenant.adminToken,
      body: { email: `${role}-${Math.random().toString(36).slice(2)}@example.test`, role },
    });
    expect(res.status).toBe(201);
    return res.body.token as string;
  }

  describe('every example', () => {
    it('is listed here, so none goes untested', () => {
      const files = readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.json'));
      expect(files.sort()).toEqual(EXAMPLES.map((name) => `${name}.json`));
    });

    it.each(EXAMPLES)('%s.json validates with the real schema and compiles', (name) => {
      const result = validatePolicy(load(name));
      expect(result.ok ? [] : result.issues).toEqual([]);
      if (result.ok) {
        expect(() => compilePolicy(result.policy, { name, version: 1, versionId: 'pv_docs' })).not.toThrow();
      }
    });

    it.each(EXAMPLES)('%s.json is shown verbatim in docs/policies.md', (name) => {
      const text = manual();
      expect(text).toContain(`examples/policies/${name}.json`);
      expect(jsonBlocks(text)).toContainEqual(load(name));
    });
  });

  describe('docs/policies.md', () => {
    it('has reference tables that match the schema (npx tsx docs/generate-policy-reference.ts)', () => {
      const text = manual();
      expect(renderPolicyReference(text)).toBe(text);
    });

    it('shows only policy documents that validate', () => {
      const topLevel = new Set(Object.keys(policySchema.shape));
      const documents = jsonBlocks(manual()).filter(
        (block): block is Record<string, unknown> =>
          typeof block === 'object' &&
          block !== null &&
          !Array.isArray(block) &&
          Object.keys(block).length > 0 &&
          Object.keys(block).every((k) => topLevel.has(k)),
      );
      expect(documents.length).toBeGreaterThan(EXAMPLES.length);
      for (const document of documents) {
        const result = validatePolicy(document);
        expect(result.ok ? [] : result.issues, JSON.stringify(document)).toEqual([]);
      }
    });
  });

  describe('the rest of the manual', () => {
    it('docs/operations.md lists every environment variable the gateway reads', () => {
      const operations = readFileSync(join(ROOT, 'docs/operations.md'), 'utf8');
      for (const variable of Object.keys(envSchema.shape)) expect(operations).toContain(`| \`${variable}\``);
    });

    it.each(MARKDOWN)('%s links only to files and headings that exist', (file) => {
      const text = readFileSync(join(ROOT, file), 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target as string)) continue; // https:, mailto:
        const [path = '', anchor] = (target as string).split('#');
        const resolved = path === '' ? join(ROOT, file) : join(ROOT, dirname(file), path);
        expect(existsSync(resolved), `${file} → ${target}`).toBe(true);
        if (anchor !== undefined) {
          const where = relative(ROOT, resolved);
          expect(anchors(readFileSync(resolved, 'utf8')), `${file} → ${where}#${anchor}`).toContain(anchor);
        }
      }
    });
  });

  it('approval-over-amount: parks a 30,000-cent order and auto-approves a 500-cent one', async () => {
    const tenant = await workspaceWith('approval-over-amount');
    const big = await simulate(tenant, 'approval-over-amount', {
      businessId: 'shop',
      request: { sku: 'tv', amount_cents: 30_000 },
    });
    expect(big).toMatchObject({
      outcome: 'approval',
      ruleId: 'large-orders',
      reason: 'Orders over $100.00 need an approver',
      stages: [{ index: 0, role: 'approver', tier: 'standard', quorum: 1 }],
    });
    const small = await simulate(tenant, 'approval-over-amount', {
      businessId: 'shop',
      request: { sku: 'sticker', amount_cents: 500 },
    });
    expect(small.outcome).toBe('auto_approve');

    // And through the agent API: 202 with the approval, then 200 for the small one.
    const key = await keyFor(tenant, 'approval-over-amount');
    const parked = await execute(key, 'shop', { sku: 'tv', amount_cents: 30_000 });
    expect(parked.status).toBe(202);
    expect(parked.body).toMatchObject({
      status: 'pending_approval',
      approval: { stages: [{ index: 0, role: 'approver', tier: 'standard', status: 'pending' }] },
    });
    expect((await execute(key, 'shop', { sku: 'sticker', amount_cents: 500 })).status).toBe(200);
  });

  it('two-stages-with-otp: $1,000 goes to an approver then an admin with a code; $200 to an approver', async () => {
    const tenant = await workspaceWith('two-stages-with-otp');
    const huge = await simulate(tenant, 'two-stages-with-otp', {
      businessId: 'acme-travel',
      request: { amount_cents: 150_000 },
    });
    expect(huge).toMatchObject({
      outcome: 'approval',
      ruleId: 'very-large',
      stages: [
        { index: 0, role: 'approver', tier: 'standard' },
        { index: 1, role: 'admin', tier: 'critical_otp' },
      ],
    });
    const large = await simulate(tenant, 'two-stages-with-otp', {
      businessId: 'acme-travel',
      request: { amount_cents: 30_000 },
    });
    expect(large).toMatchObject({ outcome: 'approval', ruleId: 'large', stages: [{ index: 0 }] });
    expect(large.stages).toHaveLength(1);
    const small = await simulate(tenant, 'two-stages-with-otp', {
      businessId: 'acme-travel',
      request: { amount_cents: 5_000 },
    });
    expect(small.outcome).toBe('auto_approve');
  });

  it('quorum: a refund over $50 needs two distinct approvers, then it executes', async () => {
    const tenant = await workspaceWith('quorum');
    const refund = await simulate(tenant, 'quorum', {
      businessId: 'shop',
      request: { type: 'refund', amount_cents: 20_000 },
    });
    expect(refund).toMatchObject({
      outcome: 'approval',
      ruleId: 'refunds-need-two',
      stages: [{ quorum: 2 }],
    });
    const order = await simulate(tenant, 'quorum', {
      businessId: 'shop',
      request: { type: 'order', amount_cents: 20_000 },
    });
    expect(order.outcome).toBe('auto_approve');

    const key = await keyFor(tenant, 'quorum');
    const parked = await execute(key, 'shop', { type: 'refund', amount_cents: 20_000 });
    expect(parked.status).toBe(202);
    const approvalId = (parked.body.approval as { id: string }).id;
    const transactionId = parked.body.transactionId as string;
    const [alice, bob] = [await member(tenant, 'approver'), await member(tenant, 'approver')];
    const approve = (token: string) =>
      call(gw, 'POST', `/v1/approvals/${approvalId}/approve`, { key: token, body: {} });

    const first = await approve(alice);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: 'pending', stages: [{ approvals: 1, quorum: 2 }] });
    const again = await approve(alice);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('CONFLICT');
    const second = await approve(bob);
    expect(second.body).toMatchObject({ status: 'approved' });

    const status = await call(gw, 'GET', `/agp/status/${transactionId}`, { key });
    expect(status.body).toMatchObject({ status: 'succeeded', approval: { status: 'approved' } });
    expect(typeof status.body.receipt).toBe('string');
  });

  it('spend-limits: per-order and daily limits, raised for one business and lowered for one agent', async () => {
    const tenant = await workspaceWith('spend-limits');
    const at = (businessId: string, amount: number, agentId?: string) =>
      simulate(tenant, 'spend-limits', {
        businessId,
        request: { amount_cents: amount },
        ...(agentId ? { agentId } : {}),
      });

    const tooBig = await at('shop', 25_000);
    expect(tooBig).toMatchObject({ outcome: 'reject', ruleId: 'spending_limit:per-order' });
    expect((await at('acme-travel', 25_000)).outcome).toBe('auto_approve');
    // The agent override stacks after the business one: intern-bot's per-order limit wins everywhere.
    expect(await at('shop', 3_000, 'intern-bot')).toMatchObject({ ruleId: 'spending_limit:per-order' });
    expect(await at('acme-travel', 3_000, 'intern-bot')).toMatchObject({
      outcome: 'reject',
      ruleId: 'spending_limit:per-order',
    });

    // 45,000 spent today (three real executes); the daily limit of 50,000 counts every business.
    const key = await keyFor(tenant, 'spend-limits');
    for (let i = 0; i < 3; i++) {
      expect((await execute(key, 'shop', { sku: 'grinder', amount_cents: 15_000 })).status).toBe(200);
    }
    const overDaily = await at('shop', 10_000);
    expect(overDaily).toMatchObject({ outcome: 'reject', ruleId: 'spending_limit:daily' });
    expect(overDaily.reason).toBe('Spending limit "daily" exceeded: 45000 counted + 10000 > 50000 per day');
    expect((await at('acme-travel', 10_000)).outcome).toBe('auto_approve');
    expect((await at('shop', 5_000)).outcome).toBe('auto_approve');

    // The grocery limit applies to food businesses only.
    const grocer = await at('grocer', 5_000);
    expect(grocer.checks).toContainEqual(
      expect.objectContaining({ control: 'spending_limit', id: 'groceries-month', result: 'pass' }),
    );
    const refused = await execute(key, 'shop', { amount_cents: 25_000 });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({
      code: 'POLICY_REJECTED',
      error: 'Amount 25000 exceeds the per-transaction limit "per-order" of 20000',
      details: { ruleId: 'spending_limit:per-order' },
    });
  });

  it('category-blocklist: refuses a gambling business and lets a grocer through', async () => {
    const tenant = await workspaceWith('category-blocklist');
    const casino = await simulate(tenant, 'category-blocklist', {
      businessId: 'casino',
      request: { amount_cents: 1_000 },
    });
    expect(casino).toMatchObject({
      outcome: 'reject',
      ruleId: 'category:block',
      reason: 'Business category "gambling" is blocked',
    });
    const grocer = await simulate(tenant, 'category-blocklist', {
      businessId: 'grocer',
      request: { amount_cents: 1_000 },
    });
    expect(grocer.outcome).toBe('auto_approve');

    const key = await keyFor(tenant, 'category-blocklist');
    const refused = await execute(key, 'casino', { amount_cents: 1_000 });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({
      error: 'Business category "gambling" is blocked',
      code: 'POLICY_REJECTED',
      details: { ruleId: 'category:block', reason: 'Business category "gambling" is blocked' },
    });
  });

  it('office-hours-queue: acts inside Berlin office hours, queues outside them until they open', async () => {
    const tenant = await workspaceWith('office-hours-queue');
    const request = { sku: 'coffee-beans', amount_cents: 2_400 };
    const tuesdayMorning = await simulate(tenant, 'office-hours-queue', {
      businessId: 'shop',
      request,
      at: '2026-11-24T10:00:00Z', // 11:00 in Berlin
    });
    expect(tuesdayMorning.outcome).toBe('auto_approve');
    const tuesdayEvening = await simulate(tenant, 'office-hours-queue', {
      businessId: 'shop',
      request,
      at: '2026-11-24T17:00:00Z', // 18:00 in Berlin
    });
    expect(tuesdayEvening).toMatchObject({ outcome: 'queue', releaseAt: '2026-11-25T08:00:00.000Z' });
    const saturday = await simulate(tenant, 'office-hours-queue', {
      businessId: 'shop',
      request,
      at: '2026-11-28T10:00:00Z',
    });
    expect(saturday).toMatchObject({
      outcome: 'queue',
      ruleId: 'time_window:outside',
      releaseAt: '2026-11-30T08:00:00.000Z', // Monday 09:00 in Berlin
    });

    // Through the agent API on a Saturday: 202 queued, executed when Monday's window opens.
    const key = await keyFor(tenant, 'office-hours-queue');
    const start = gw.now.value;
    try {
      gw.now.value = Date.parse('2026-11-28T10:00:00Z');
      const queued = await execute(key, 'shop', request);
      expect(queued.status).toBe(202);
      expect(queued.body).toMatchObject({ status: 'queued', releaseAt: '2026-11-30T08:00:00.000Z' });
      gw.now.value = Date.parse('2026-11-30T08:00:00Z');
      expect(await releaseDue(gw.deps)).toBe(1);
      const status = await call(gw, 'GET', `/agp/status/${queued.body.transactionId}`, { key });
      expect(status.body.status).toBe('succeeded');
    } finally {
      gw.now.value = start;
    }
  });

  it('first-time-business: the first execute with a business waits for an admin, later ones do not', async () => {
    const tenant = await workspaceWith('first-time-business');
    const first = await simulate(tenant, 'first-time-business', {
      businessId: 'grocer',
      request: { amount_cents: 900 },
    });
    expect(first).toMatchObject({
      outcome: 'approval',
      ruleId: 'confirmation:first_time_business',
      stages: [{ index: 0, role: 'admin' }],
    });

    const key = await keyFor(tenant, 'first-time-business');
    const parked = await execute(key, 'grocer', { amount_cents: 900 });
    expect(parked.status).toBe(202);
    const approvalId = (parked.body.approval as { id: string }).id;
    const approved = await call(gw, 'POST', `/v1/approvals/${approvalId}/approve`, {
      key: tenant.adminToken,
      body: { reason: 'Known supplier' },
    });
    expect(approved.body).toMatchObject({ status: 'approved' });

    const second = await simulate(tenant, 'first-time-business', {
      businessId: 'grocer',
      request: { amount_cents: 900 },
    });
    expect(second.outcome).toBe('auto_approve');
    expect((await execute(key, 'grocer', { amount_cents: 900 })).status).toBe(200);
    const otherBusiness = await simulate(tenant, 'first-time-business', {
      businessId: 'shop',
      request: { amount_cents: 900 },
    });
    expect(otherBusiness.outcome).toBe('approval');
  });

  it('evaluate-only: small refunds pass, large ones wait for an approver, anything else is refused', async () => {
    const tenant = await workspaceWith('evaluate-only');
    const simulated = await simulate(tenant, 'evaluate-only', {
      businessId: 'shop',
      request: { action: 'refund', amount_cents: 2_500 },
    });
    expect(simulated).toMatchObject({ outcome: 'auto_approve', ruleId: 'small-refund' });

    const evaluate = (payload_scope: Record<string, unknown>) =>
      call(gw, 'POST', '/v1/evaluate', {
        key: tenant.agentKey,
        body: { policy_name: 'evaluate-only', context: { agent_id: 'agent-1', payload_scope } },
      });
    const small = await evaluate({ action: 'refund', amount_cents: 2_500, order: 'A-1001' });
    expect(small.status).toBe(200);
    expect(small.body).toMatchObject({
      status: 'auto_approved',
      decision: { outcome: 'auto_approve', ruleId: 'small-refund' },
    });
    const report = await call(gw, 'POST', '/v1/receipt', {
      key: tenant.agentKey,
      body: { evaluation_id: small.body.evaluation_id, status: 'succeeded', data: { refundId: 'r_1' } },
    });
    expect(report.status).toBe(201);
    expect(typeof report.body.receipt).toBe('string');

    const large = await evaluate({ action: 'refund', amount_cents: 12_000, order: 'A-1002' });
    expect(large.body).toMatchObject({
      status: 'pending_human',
      decision: { outcome: 'approval', ruleId: 'large-refund' },
      approval: { stages: [{ index: 0, role: 'approver', status: 'pending' }] },
    });
    const payout = await evaluate({ action: 'payout', amount_cents: 100 });
    expect(payout.body).toMatchObject({
      status: 'rejected',
      decision: {
        outcome: 'reject',
        ruleId: 'default_action:reject',
        reason: 'No rule matched and the policy default_action is reject',
      },
    });
  });

  it('conditions: any/not/matches/in, gift cards refused, weekend travel without a trip parked', async () => {
    const tenant = await workspaceWith('conditions');
    const saturday = '2026-11-28T10:00:00Z';
    const tuesday = '2026-11-24T10:00:00Z';
    const decide = (businessId: string, request: Record<string, unknown>, at: string) =>
      simulate(tenant, 'conditions', { businessId, request, at });

    expect(await decide('shop', { item: 'Amazon gift card', amount_cents: 5_000 }, tuesday)).toMatchObject({
      outcome: 'reject',
      ruleId: 'no-gift-cards',
      reason: 'Gift cards are not allowed',
    });
    expect(await decide('shop', { sku: 'GC-100' }, tuesday)).toMatchObject({ ruleId: 'no-gift-cards' });
    expect((await decide('shop', { sku: 'GC-100-X' }, tuesday)).outcome).toBe('auto_approve');
    expect(await decide('acme-travel', { amount_cents: 40_000 }, saturday)).toMatchObject({
      outcome: 'approval',
      ruleId: 'weekend-travel',
    });
    const withTrip = { amount_cents: 40_000, metadata: { trip_id: 'T-7' } };
    expect((await decide('acme-travel', withTrip, saturday)).outcome).toBe('auto_approve');
    expect((await decide('acme-travel', { amount_cents: 40_000 }, tuesday)).outcome).toBe('auto_approve');
  });
});
