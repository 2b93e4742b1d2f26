import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findMemberByTokenHash } from '../../gateway/repositories/tenancy.ts';
import { hashSecret } from '../../gateway/secrets.ts';
import { issueLink } from '../../gateway/services/approvals/links.ts';
import { OTP_REQUEST_LIMIT, OTP_REQUEST_WINDOW_MS } from '../../gateway/services/approvals/otp.ts';
import { sweepOnce } from '../../gateway/services/housekeeping/index.ts';
import {
  addMember,
  csrfIn,
  park,
  policyKey,
  type SmtpCapture,
  stage,
  stagedPolicy,
  startSmtp,
} from '../e2e/support.ts';
import { DIALECTS, type Dialect, freshPostgresSchema, type TestDatabase } from '../support/dialects.ts';
import {
  call,
  createTenant,
  registerEcho,
  startTestGateway,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';

// Issue 10: each request for a one-time code emails one, so requests are limited per member and
// approval (OTP_REQUEST_LIMIT per OTP_REQUEST_WINDOW_MS), counted in the shared rate_counters table.
const CODE_SUBJECT = /^Your Warden approval code: \d{6}$/;

interface Member {
  token: string;
  id: string;
  email: string;
}

/** A workspace whose every execute waits for an admin with a one-time code, and two admins. */
async function otpWorkspace(gw: TestGateway) {
  const tenant = await createTenant(gw);
  await registerEcho(gw, 'shop');
  const key = await policyKey(gw, tenant, 'otp', stagedPolicy([stage(0, 'admin', { tier: 'critical_otp' })]));
  const members: Record<'ann' | 'bob', Member> = { ann: await member('ann'), bob: await member('bob') };
  return { tenant, key, members };

  async function member(name: string): Promise<Member> {
    const email = `${name}+${Math.random().toString(36).slice(2, 8)}@otp-limit.test`;
    const token = await addMember(gw, tenant, email, 'admin');
    const found = await findMemberByTokenHash(gw.db.reader, hashSecret(token));
    if (!found) throw new Error(`member ${name} was not created`);
    return { token, id: found.id, email };
  }
}

const requestCode = (gw: TestGateway, who: Member, approvalId: string) =>
  call(gw, 'POST', `/v1/approvals/${approvalId}/otp`, { key: who.token });

const codesMailedTo = (smtp: SmtpCapture, who: Member) =>
  smtp.messages.filter((m) => m.to.includes(who.email) && CODE_SUBJECT.test(m.subject));

const lastCode = (smtp: SmtpCapture, who: Member) =>
  /one-time code is (\d{6})/.exec(codesMailedTo(smtp, who).at(-1)?.text ?? '')?.[1] ?? '';

/** The codes the audit trail says were sent for an approval. */
async function codesAudited(gw: TestGateway, tenant: Tenant, approvalId: string): Promise<number> {
  const res = await call(gw, 'GET', `/v1/audit?action=approval.otp_sent&target=${approvalId}&limit=200`, {
    key: tenant.adminToken,
  });
  expect(res.status).toBe(200);
  return (res.body.events as unknown[]).length;
}

const expectLimited = (res: { status: number; body: Record<string, unknown>; headers: Headers }) => {
  expect(res.status).toBe(429);
  expect(res.body).toMatchObject({
    code: 'RATE_LIMITED',
    requestId: expect.any(String),
    details: { limit: OTP_REQUEST_LIMIT },
  });
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(OTP_REQUEST_WINDOW_MS / 1000);
  return retryAfter;
};

describe.each(DIALECTS)(
  'one-time code requests on %s: limited per member and approval',
  (dialect: Dialect) => {
    let smtp: SmtpCapture;
    let gw: TestGateway;
    let ws: Awaited<ReturnType<typeof otpWorkspace>>;

    beforeAll(async () => {
      smtp = await startSmtp();
      gw = await startTestGateway({ dialect, env: { SMTP_URL: smtp.url } });
      ws = await otpWorkspace(gw);
    });
    afterAll(async () => {
      await gw?.dispose();
      await smtp?.close();
    });

    it(`the ${OTP_REQUEST_LIMIT + 1}th request within the window is 429 with Retry-After, and emails nothing`, async () => {
      expect(OTP_REQUEST_LIMIT).toBe(3);
      expect(OTP_REQUEST_WINDOW_MS).toBe(10 * 60_000);
      const { ann } = ws.members;
      const { approvalId } = await park(gw, ws.key, { amount_cents: 100 });
      // Three codes a minute apart: each one is emailed.
      for (let i = 0; i < 3; i += 1) {
        if (i > 0) gw.now.advance(60_000);
        const res = await requestCode(gw, ann, approvalId);
        expect(res.status).toBe(202);
      }
      expect(codesMailedTo(smtp, ann)).toHaveLength(3);

      // The fourth, two minutes after the first: wait until the first is ten minutes old.
      const refused = await requestCode(gw, ann, approvalId);
      expect(expectLimited(refused)).toBe(480);
      expect(codesMailedTo(smtp, ann)).toHaveLength(3);
      expect(await codesAudited(gw, ws.tenant, approvalId)).toBe(3);

      // Retry-After is the real wait: one second short is still refused, then a code is sent.
      gw.now.advance(479_000);
      expect(expectLimited(await requestCode(gw, ann, approvalId))).toBe(1);
      expect(codesMailedTo(smtp, ann)).toHaveLength(3);
      gw.now.advance(1000);
      expect((await requestCode(gw, ann, approvalId)).status).toBe(202);
      expect(codesMailedTo(smtp, ann)).toHaveLength(4);
      const fourth = lastCode(smtp, ann);
      const approved = await call(gw, 'POST', `/v1/approvals/${approvalId}/approve`, {
        key: ann.token,
        body: { otp: fourth },
      });
      expect(approved.status).toBe(200);
      expect(approved.body).toMatchObject({ status: 'approved' });
    });

    it('the background sweep keeps what the window still counts', async () => {
      const { ann } = ws.members;
      const { approvalId } = await park(gw, ws.key, { amount_cents: 100 });
      for (let i = 0; i < 3; i += 1) expect((await requestCode(gw, ann, approvalId)).status).toBe(202);
      gw.now.advance(5 * 60_000);
      await sweepOnce(gw.deps);
      expect(expectLimited(await requestCode(gw, ann, approvalId))).toBe(300);
      gw.now.advance(5 * 60_000);
      await sweepOnce(gw.deps);
      expect((await requestCode(gw, ann, approvalId)).status).toBe(202);
    });

    it('a refused request leaves the code already sent usable', async () => {
      const { ann } = ws.members;
      const { approvalId } = await park(gw, ws.key, { amount_cents: 100 });
      for (let i = 0; i < 3; i += 1) expect((await requestCode(gw, ann, approvalId)).status).toBe(202);
      const code = lastCode(smtp, ann);
      expectLimited(await requestCode(gw, ann, approvalId));
      const approved = await call(gw, 'POST', `/v1/approvals/${approvalId}/approve`, {
        key: ann.token,
        body: { otp: code },
      });
      expect(approved.status).toBe(200);
    });

    it('another member, or the same member on another approval, is not affected', async () => {
      const { ann, bob } = ws.members;
      const first = await park(gw, ws.key, { amount_cents: 100 });
      const second = await park(gw, ws.key, { amount_cents: 200 });
      for (let i = 0; i < 3; i += 1) expect((await requestCode(gw, ann, first.approvalId)).status).toBe(202);
      expectLimited(await requestCode(gw, ann, first.approvalId));
      const bobBefore = codesMailedTo(smtp, bob).length;
      const annBefore = codesMailedTo(smtp, ann).length;
      expect((await requestCode(gw, bob, first.approvalId)).status).toBe(202);
      expect((await requestCode(gw, ann, second.approvalId)).status).toBe(202);
      expect(codesMailedTo(smtp, bob)).toHaveLength(bobBefore + 1);
      expect(codesMailedTo(smtp, ann)).toHaveLength(annBefore + 1);
      // Bob has his own three on the first approval.
      for (let i = 0; i < 2; i += 1) expect((await requestCode(gw, bob, first.approvalId)).status).toBe(202);
      expectLimited(await requestCode(gw, bob, first.approvalId));
    });

    it('the approval page and the API share one limit; the page answers 429 with Retry-After', async () => {
      const { ann } = ws.members;
      const { approvalId } = await park(gw, ws.key, { amount_cents: 100 });
      const { token } = await issueLink({
        deps: gw.deps,
        workspaceId: ws.tenant.workspaceId,
        approvalId,
        position: 0,
        memberId: ann.id,
        expiresAt: gw.now.value + 3600_000,
      });
      const origin = gw.deps.config.publicBaseUrl;
      const page = await gw.app.request(`/approve/${token}`);
      expect(page.status).toBe(200);
      const csrf = csrfIn(await page.text());
      const postOtp = () =>
        gw.app.request(`/approve/${token}/otp`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
          body: new URLSearchParams({ csrf }).toString(),
        });

      const before = codesMailedTo(smtp, ann).length;
      expect((await requestCode(gw, ann, approvalId)).status).toBe(202);
      expect((await requestCode(gw, ann, approvalId)).status).toBe(202);
      expect((await postOtp()).status).toBe(303);
      const refused = await postOtp();
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(refused.headers.get('content-type')).toContain('text/html');
      expect(await refused.text()).toContain('Too many codes requested');
      expectLimited(await requestCode(gw, ann, approvalId));
      expect(codesMailedTo(smtp, ann)).toHaveLength(before + 3);
    });

    it('a burst of concurrent requests never gets more codes than the limit', async () => {
      const { ann } = ws.members;
      const { approvalId } = await park(gw, ws.key, { amount_cents: 100 });
      const before = codesMailedTo(smtp, ann).length;
      const results = await Promise.all(Array.from({ length: 12 }, () => requestCode(gw, ann, approvalId)));
      expect(results.filter((r) => r.status === 202)).toHaveLength(OTP_REQUEST_LIMIT);
      for (const r of results.filter((r) => r.status !== 202)) expectLimited(r);
      expect(codesMailedTo(smtp, ann)).toHaveLength(before + OTP_REQUEST_LIMIT);
      expect(await codesAudited(gw, ws.tenant, approvalId)).toBe(OTP_REQUEST_LIMIT);
    });
  },
);

describe('one-time code requests: one limit for two gateways sharing a PostgreSQL database', () => {
  let db: TestDatabase;
  let smtp: SmtpCapture;
  let gateways: TestGateway[] = [];
  let ws: Awaited<ReturnType<typeof otpWorkspace>>;

  beforeAll(async () => {
    db = await freshPostgresSchema();
    smtp = await startSmtp();
    gateways = await Promise.all(
      [0, 1].map(() => startTestGateway({ databaseUrl: db.url, env: { SMTP_URL: smtp.url } })),
    );
    ws = await otpWorkspace(gateways[0] as TestGateway);
  });
  afterAll(async () => {
    await Promise.all(gateways.map((gw) => gw.dispose()));
    await smtp?.close();
    await db?.drop();
  });

  const gateway = (i: number) => gateways[i % 2] as TestGateway;

  it('requests alternating between the gateways are counted together', async () => {
    const { ann } = ws.members;
    const { approvalId } = await park(gateway(0), ws.key, { amount_cents: 100 });
    for (let i = 0; i < 3; i += 1) expect((await requestCode(gateway(i), ann, approvalId)).status).toBe(202);
    expectLimited(await requestCode(gateway(1), ann, approvalId));
    expectLimited(await requestCode(gateway(0), ann, approvalId));
    expect(codesMailedTo(smtp, ann)).toHaveLength(3);
  });

  it('a concurrent burst split over both gateways gets exactly the limit', async () => {
    const { bob } = ws.members;
    const { approvalId } = await park(gateway(0), ws.key, { amount_cents: 100 });
    const results = await Promise.all(
      Array.from({ length: 16 }, (_, i) => requestCode(gateway(i), bob, approvalId)),
    );
    expect(results.filter((r) => r.status === 202)).toHaveLength(OTP_REQUEST_LIMIT);
    expect(results.filter((r) => r.status === 429)).toHaveLength(16 - OTP_REQUEST_LIMIT);
    expect(codesMailedTo(smtp, bob)).toHaveLength(OTP_REQUEST_LIMIT);
    expect(await codesAudited(gateway(1), ws.tenant, approvalId)).toBe(OTP_REQUEST_LIMIT);
  });
});
