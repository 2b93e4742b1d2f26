import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverDue } from '../../gateway/services/notifications/index.ts';
import {
  call,
  createTenant,
  registerHttpBusiness,
  startUpstream,
  type Tenant,
  type Upstream,
} from '../support/harness.ts';
import {
  addMember,
  csrfIn,
  type LiveGateway,
  linkIn,
  park,
  policyKey,
  postForm,
  type SmtpCapture,
  stage,
  stagedPolicy,
  startLiveGateway,
  startSmtp,
} from './support.ts';

describe('magic links over real SMTP and a real socket (DESIGN §5)', () => {
  let smtp: SmtpCapture;
  let upstream: Upstream;
  let live: LiveGateway;
  let tenant: Tenant;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    smtp = await startSmtp();
    upstream = await startUpstream();
    live = await startLiveGateway({ env: { SMTP_URL: smtp.url, MAIL_FROM: 'Warden <warden@acme.test>' } });
    tenant = await createTenant(live.gw);
    await registerHttpBusiness(live.gw, upstream.url, 'shop', 'retail');
    for (const [name, role] of [
      ['ann', 'approver'],
      ['dan', 'admin'],
      ['eve', 'admin'],
    ] as const) {
      tokens[name] = await addMember(live.gw, tenant, `${name}@acme.test`, role);
    }
  });
  afterAll(async () => {
    await live.close();
    await upstream.close();
    await smtp.close();
  });

  const deliver = () => deliverDue(live.gw.deps, live.gw.notify.senders);
  const status = async (key: string, id: string) =>
    (await call(live.gw, 'GET', `/agp/status/${id}`, { key })).body;

  it('execute → 202 → email → link → approve → the business is called once → succeeded', async () => {
    const key = await policyKey(live.gw, tenant, 'one-stage', stagedPolicy([stage(0, 'approver')]));
    const before = smtp.messages.length;
    const { transactionId } = await park(live.gw, key, { amount_cents: 4200, sku: 'KETTLE-7' });
    expect((await deliver()).delivered).toBeGreaterThanOrEqual(1);

    const mail = await smtp.next('ann@acme.test', { after: before });
    expect(mail.subject).toBe('Approval needed: USD 42.00 at Shop shop');
    expect(mail.text).toContain('Agent:    agent-one-stage');
    expect(mail.text).toContain('Rule:     needs-people');
    expect(mail.text).toContain('Reason:   Every order needs a human');
    expect(mail.text).toContain('Deadline: 2026-11-24 13:00 UTC');
    const link = linkIn(mail);
    expect(link.startsWith(`${live.url}/approve/`)).toBe(true);

    const page = await fetch(link);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('cache-control')).toBe('no-store');
    const html = await page.text();
    expect(html).toContain('KETTLE-7');
    expect(html).toContain('USD 42.00');
    expect(html).toContain('agent-one-stage');
    expect(html).toContain('Every order needs a human');
    const csrf = csrfIn(html);

    // CSRF: a wrong field, or a post from another site, changes nothing.
    expect((await postForm(`${link}/decision`, { csrf: 'forged', decision: 'approve' })).status).toBe(403);
    const crossSite = await postForm(
      `${link}/decision`,
      { csrf, decision: 'approve' },
      { origin: 'https://evil.example' },
    );
    expect(crossSite.status).toBe(403);
    expect(crossSite.html).toContain('not sent from the approval page');
    expect(upstream.requests).toHaveLength(0);

    const decided = await postForm(`${link}/decision`, { csrf, decision: 'approve', reason: 'fine' });
    expect(decided.status).toBe(200);
    expect(decided.html).toContain('You approved this request.');
    expect(decided.html).toContain('The business executed it: succeeded.');
    expect(upstream.requests).toHaveLength(1);
    expect(await status(key, transactionId)).toMatchObject({ status: 'succeeded' });

    // The link is personal and single-use.
    const again = await fetch(link);
    expect(again.status).toBe(410);
    expect(await again.text()).toContain('This link has already been used');
    const repost = await postForm(`${link}/decision`, { csrf, decision: 'approve' });
    expect(repost.status).toBe(410);
    expect(upstream.requests).toHaveLength(1);

    const audit = await call(live.gw, 'GET', '/v1/audit', { key: tenant.adminToken });
    expect(JSON.stringify(audit.body)).toContain('"via":"link"');
  });

  it('two stages, the second critical: the code comes by email; five wrong codes lock the step', async () => {
    const key = await policyKey(
      live.gw,
      tenant,
      'critical',
      stagedPolicy([stage(0, 'approver'), stage(1, 'admin', { tier: 'critical_otp' })]),
    );
    const calls = upstream.requests.length;
    let seen = smtp.messages.length;
    const { transactionId, approvalId } = await park(live.gw, key, { amount_cents: 990000, sku: 'YACHT-1' });
    await deliver();
    const annMail = await smtp.next('ann@acme.test', { after: seen });
    const annLink = linkIn(annMail);
    const annPage = await (await fetch(annLink)).text();
    expect(annPage).not.toContain('Send me a code');
    expect(
      (await postForm(`${annLink}/decision`, { csrf: csrfIn(annPage), decision: 'approve' })).html,
    ).toContain('Waiting for stage 2 (admin).');

    // Stage 2 is active: every admin gets a link of their own.
    seen = smtp.messages.length;
    await deliver();
    const danLink = linkIn(await smtp.next('dan@acme.test', { after: seen }));
    const page = await (await fetch(danLink)).text();
    expect(page).toContain('Send me a code');
    expect(page).toContain('critical, one-time code');
    const csrf = csrfIn(page);

    const without = await postForm(`${danLink}/decision`, { csrf, decision: 'approve' });
    expect(without.status).toBe(403);
    expect(without.html).toContain('This stage needs a one-time code');

    seen = smtp.messages.length;
    const sent = await postForm(`${danLink}/otp`, { csrf });
    expect(sent.status).toBe(303);
    expect(sent.location).toMatch(/\?otp=sent$/);
    const codeMail = await smtp.next('dan@acme.test', { after: seen });
    const code = /one-time code is (\d{6})/.exec(codeMail.text)?.[1] ?? '';
    expect(code).toMatch(/^\d{6}$/);
    expect(codeMail.text).toContain('USD 9900.00');
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');

    for (let attempt = 1; attempt <= 5; attempt += 1) {
      const res = await postForm(`${danLink}/decision`, { csrf, decision: 'approve', otp: wrong });
      expect(res.status).toBe(403);
      expect(res.html).toContain(attempt < 5 ? `${5 - attempt} tr` : 'this step is locked');
    }
    const right = await postForm(`${danLink}/decision`, { csrf, decision: 'approve', otp: code });
    expect(right.status).toBe(403);
    expect(right.html).toContain('this step is locked');
    const more = await postForm(`${danLink}/otp`, { csrf });
    expect(more.status).toBe(403);
    expect(more.html).toContain('this step is locked');
    expect(upstream.requests.length).toBe(calls);
    expect(await status(key, transactionId)).toMatchObject({ status: 'pending_approval' });

    // Another admin, through the API: asks for a code, gets it by email, approves with it.
    const apiWithout = await call(live.gw, 'POST', `/v1/approvals/${approvalId}/approve`, {
      key: tokens.eve,
      body: {},
    });
    expect(apiWithout.status).toBe(403);
    expect(apiWithout.body).toMatchObject({ details: { otpRequired: true, reason: 'missing' } });
    seen = smtp.messages.length;
    const asked = await call(live.gw, 'POST', `/v1/approvals/${approvalId}/otp`, { key: tokens.eve });
    expect(asked.status).toBe(202);
    const eveCode = /one-time code is (\d{6})/.exec(
      (await smtp.next('eve@acme.test', { after: seen })).text,
    )?.[1];
    const approved = await call(live.gw, 'POST', `/v1/approvals/${approvalId}/approve`, {
      key: tokens.eve,
      body: { otp: eveCode },
    });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: 'approved', transaction: { status: 'succeeded' } });
    expect(upstream.requests.length).toBe(calls + 1);
    // Dan's link died with the decision.
    expect((await fetch(danLink)).status).toBe(410);
  });
});
