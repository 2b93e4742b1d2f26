import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverDue } from '../../gateway/services/notifications/index.ts';
import { park, policyKey, type SmtpCapture, stage, stagedPolicy, startSmtp } from '../e2e/support.ts';
import {
  call,
  createTenant,
  registerHttpBusiness,
  startTestGateway,
  startUpstream,
  type Tenant,
  type TestGateway,
  type Upstream,
} from '../support/harness.ts';
import { form, memberToken, open, page, signIn } from './support.ts';

/**
 * The approvals queue and detail (issue 14 item 2): only what the member can decide, newest first;
 * a decision from the console goes through the same services as the API, so the parked execute
 * completes at the business; decided items move to history.
 */

let gw: TestGateway;
let smtp: SmtpCapture;
let upstream: Upstream;
let tenant: Tenant;
const cookies: Record<string, string> = {};

beforeAll(async () => {
  smtp = await startSmtp();
  upstream = await startUpstream();
  gw = await startTestGateway({ env: { SMTP_URL: smtp.url } });
  tenant = await createTenant(gw, { name: 'Acme' });
  await registerHttpBusiness(gw, upstream.url, 'shop', 'retail');
  for (const [name, role] of [
    ['ann', 'approver'],
    ['bob', 'approver'],
    ['dev', 'developer'],
  ] as const) {
    cookies[name] = await signIn(gw, await memberToken(gw, tenant, `${name}@acme.test`, role));
  }
  cookies.admin = await signIn(gw, tenant.adminToken);
});
afterAll(async () => {
  await gw?.dispose();
  await upstream?.close();
  await smtp?.close();
});

const queue = async (who: string) => (await open(gw, '/console/approvals', cookies[who] ?? '')).html;
const status = async (key: string, id: string) =>
  (await call(gw, 'GET', `/agp/status/${id}`, { key })).body.status;

describe('the queue', () => {
  it('shows each member only the approvals whose active stage they can decide, newest first', async () => {
    const approverKey = await policyKey(gw, tenant, 'approvers', stagedPolicy([stage(0, 'approver')]));
    const devKey = await policyKey(gw, tenant, 'developers', stagedPolicy([stage(0, 'developer')]));
    const first = await park(gw, approverKey, { sku: 'A', amount_cents: 1111 });
    const second = await park(gw, approverKey, { sku: 'B', amount_cents: 2222 });
    const forDev = await park(gw, devKey, { sku: 'C', amount_cents: 3333 });

    const ann = await queue('ann');
    expect(ann).toContain(first.approvalId);
    expect(ann).toContain(second.approvalId);
    expect(ann).not.toContain(forDev.approvalId);
    expect(ann.indexOf(second.approvalId)).toBeLessThan(ann.indexOf(first.approvalId));
    expect(ann).toContain('USD 22.22');
    expect(ann).toContain('needs-people');
    expect(ann).toContain('data-deadline=');
    expect(ann).toMatch(/<script src="\/console\/assets\/countdown\.[0-9a-f]{16}\.js"/);

    expect((await open(gw, '/console', cookies.ann ?? '')).html).toContain('2 approvals waiting for you');
    const dev = await queue('dev');
    expect(dev).toContain(forDev.approvalId);
    expect(dev).not.toContain(first.approvalId);
    const admin = await queue('admin');
    expect(admin).not.toContain(first.approvalId);
    expect(admin).not.toContain(forDev.approvalId);
  });

  it('drops an approval from the queue of a member who voted, but not of the others', async () => {
    const key = await policyKey(gw, tenant, 'two-of', stagedPolicy([stage(0, 'approver', { quorum: 2 })]));
    const parked = await park(gw, key, { sku: 'Q', amount_cents: 500 });
    const { csrf } = await open(gw, `/console/approvals/${parked.approvalId}`, cookies.ann ?? '');
    const res = await form(
      gw,
      `/console/approvals/${parked.approvalId}/decision`,
      { csrf, decision: 'approve' },
      { cookie: cookies.ann },
    );
    expect(res.status).toBe(303);
    expect(await queue('ann')).not.toContain(parked.approvalId);
    expect(await queue('bob')).toContain(parked.approvalId);
    const detail = (await open(gw, `/console/approvals/${parked.approvalId}`, cookies.ann ?? '')).html;
    expect(detail).toContain('You approved this request on');
    expect(detail).not.toContain('name="decision"');
  });
});

describe('deciding from the console', () => {
  it('approves: the parked execute completes at the business, and the item moves to history', async () => {
    const key = await policyKey(gw, tenant, 'one', stagedPolicy([stage(0, 'approver')]));
    const parked = await park(gw, key, { sku: 'TEAPOT', amount_cents: 4200 });
    const calls = upstream.requests.length;
    const { html, csrf } = await open(gw, `/console/approvals/${parked.approvalId}`, cookies.bob ?? '');
    expect(html).toContain('&quot;sku&quot;: &quot;TEAPOT&quot;');
    expect(html).toContain('Every order needs a human');
    expect(html).toContain('Stage 1: approver');

    const res = await form(
      gw,
      `/console/approvals/${parked.approvalId}/decision`,
      { csrf, decision: 'approve', reason: 'fine' },
      { cookie: cookies.bob },
    );
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/console/approvals/${parked.approvalId}?done=approve`);
    expect(upstream.requests.length).toBe(calls + 1);
    expect(await status(key, parked.transactionId)).toBe('succeeded');
    // The API shows the same vote, cast in the console.
    const api = await call(gw, 'GET', `/v1/approvals/${parked.approvalId}`, { key: tenant.adminToken });
    expect(api.body.votes).toMatchObject([{ decision: 'approve', via: 'console', reason: 'fine' }]);

    const after = (await open(gw, res.headers.get('location') ?? '', cookies.bob ?? '')).html;
    expect(after).toContain('You approved this request.');
    expect(await queue('bob')).not.toContain(parked.approvalId);
    const history = (await open(gw, '/console/approvals?tab=history', cookies.bob ?? '')).html;
    expect(history).toContain(parked.approvalId);
  });

  it('rejects: the request is refused and never reaches the business', async () => {
    const key = await policyKey(gw, tenant, 'one-r', stagedPolicy([stage(0, 'approver')]));
    const parked = await park(gw, key, { sku: 'NOPE', amount_cents: 100 });
    const calls = upstream.requests.length;
    const { csrf } = await open(gw, `/console/approvals/${parked.approvalId}`, cookies.ann ?? '');
    const res = await form(
      gw,
      `/console/approvals/${parked.approvalId}/decision`,
      { csrf, decision: 'reject' },
      { cookie: cookies.ann },
    );
    expect(res.status).toBe(303);
    expect(await status(key, parked.transactionId)).toBe('rejected');
    expect(upstream.requests.length).toBe(calls);
  });

  it('refuses a decision without the CSRF field (403), and records nothing', async () => {
    const key = await policyKey(gw, tenant, 'csrf', stagedPolicy([stage(0, 'approver')]));
    const parked = await park(gw, key, { sku: 'X', amount_cents: 100 });
    const res = await form(
      gw,
      `/console/approvals/${parked.approvalId}/decision`,
      { decision: 'approve' },
      { cookie: cookies.ann },
    );
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('This form has expired');
    expect(await queue('ann')).toContain(parked.approvalId);
    expect(await status(key, parked.transactionId)).toBe('pending_approval');
  });

  it('refuses a member whose role is not the stage’s with the page again, saying why', async () => {
    const key = await policyKey(gw, tenant, 'role', stagedPolicy([stage(0, 'approver')]));
    const parked = await park(gw, key, { sku: 'R', amount_cents: 100 });
    const { html, csrf } = await open(gw, `/console/approvals/${parked.approvalId}`, cookies.dev ?? '');
    expect(html).toContain('The active stage needs the approver role; you are developer.');
    const res = await form(
      gw,
      `/console/approvals/${parked.approvalId}/decision`,
      { csrf, decision: 'approve' },
      { cookie: cookies.dev },
    );
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('The active stage needs the approver role.');
  });

  it('a critical stage needs the emailed code: refused without, approved with it', async () => {
    const key = await policyKey(
      gw,
      tenant,
      'critical',
      stagedPolicy([stage(0, 'approver', { tier: 'critical_otp' })]),
    );
    const parked = await park(gw, key, { sku: 'GOLD', amount_cents: 9900 });
    await deliverDue(gw.deps, gw.notify.senders);
    const path = `/console/approvals/${parked.approvalId}`;
    const { html, csrf } = await open(gw, path, cookies.ann ?? '');
    expect(html).toContain('Send me a code');
    const without = await form(
      gw,
      `${path}/decision`,
      { csrf, decision: 'approve' },
      { cookie: cookies.ann },
    );
    expect(without.status).toBe(403);
    expect(await without.text()).toContain('one-time code');

    const after = smtp.messages.length;
    const sent = await form(gw, `${path}/otp`, { csrf }, { cookie: cookies.ann });
    expect(sent.status).toBe(303);
    expect(sent.headers.get('location')).toBe(`${path}?otp=sent`);
    const mail = await smtp.next('ann@acme.test', { after });
    const code = /\b(\d{6})\b/.exec(mail.text)?.[1] ?? '';
    const wrong = await form(
      gw,
      `${path}/decision`,
      { csrf, decision: 'approve', otp: code === '000000' ? '111111' : '000000' },
      { cookie: cookies.ann },
    );
    expect(wrong.status).toBe(403);
    const ok = await form(
      gw,
      `${path}/decision`,
      { csrf, decision: 'approve', otp: code },
      { cookie: cookies.ann },
    );
    expect(ok.status).toBe(303);
    expect(await status(key, parked.transactionId)).toBe('succeeded');
  });

  it('answers an unknown approval with a 404 page', async () => {
    const res = await page(gw, '/console/approvals/apr_nope', cookies.ann);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  });
});
