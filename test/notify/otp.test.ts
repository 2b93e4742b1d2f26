import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Mailer, MailMessage } from '../../gateway/notify/mailer.ts';
import * as links from '../../gateway/repositories/links.ts';
import * as tenancy from '../../gateway/repositories/tenancy.ts';
import { hashSecret } from '../../gateway/secrets.ts';
import { createOtpService, type OtpService } from '../../gateway/services/approvals/otp.ts';
import { createKeyring } from '../../gateway/services/platform/keyring.ts';
import { addMember, park, policyKey, stage, stagedPolicy } from '../e2e/support.ts';
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

describe('one-time codes (critical tier: 6 digits, 10 minutes, 5 tries)', () => {
  let gw: TestGateway;
  let upstream: Upstream;
  let tenant: Tenant;
  let otp: OtpService;
  let key: string;
  const mail: MailMessage[] = [];
  const members: Record<string, { token: string; memberId: string; email: string }> = {};

  beforeAll(async () => {
    upstream = await startUpstream();
    gw = await startTestGateway();
    await registerHttpBusiness(gw, upstream.url, 'shop', 'retail');
    tenant = await createTenant(gw);
    for (const name of ['ann', 'bob', 'cat', 'dan']) {
      const token = await addMember(gw, tenant, `${name}@otp.test`, 'admin');
      const found = await tenancy.findMemberByTokenHash(gw.db.reader, hashSecret(token));
      members[name] = { token, memberId: found?.id ?? '', email: `${name}@otp.test` };
    }
    await addMember(gw, tenant, 'sam@otp.test', 'approver');
    const mailer: Mailer = {
      async send(message) {
        mail.push(message);
      },
      close() {},
    };
    otp = createOtpService({ deps: gw.deps, mailer, key: createKeyring('x'.repeat(32)).otp });
    key = await policyKey(gw, tenant, 'otp', stagedPolicy([stage(0, 'admin', { tier: 'critical_otp' })]));
  });
  afterAll(async () => {
    await gw.dispose();
    await upstream.close();
  });

  const who = (name: string) => {
    const m = members[name];
    if (!m) throw new Error(name);
    return { memberId: m.memberId, email: m.email, role: 'admin' as const };
  };
  const codeFor = (email: string) => {
    const text = mail.filter((m) => m.to === email).at(-1)?.text ?? '';
    return /one-time code is (\d{6})/.exec(text)?.[1] ?? '';
  };
  const wrongFor = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

  it('a code is hashed at rest, single-use, and approves only with the member who asked', async () => {
    const { approvalId } = await park(gw, key, { amount_cents: 100 });
    const input = { workspaceId: tenant.workspaceId, approvalId };
    await otp.send({ ...input, member: who('ann') });
    const code = codeFor('ann@otp.test');
    expect(code).toMatch(/^\d{6}$/);
    const state = await links.getOtpState(gw.db.reader, {
      approvalId,
      position: 0,
      memberId: who('ann').memberId,
    });
    expect(state).toMatchObject({ attempts: 0, usedAt: null });
    // Somebody else's code does not work for bob.
    expect(await otp.check({ ...input, memberId: who('bob').memberId, code })).toMatchObject({
      ok: false,
      reason: 'missing',
    });
    expect(await otp.check({ ...input, memberId: who('ann').memberId, code })).toEqual({ ok: true });
    expect(await otp.check({ ...input, memberId: who('ann').memberId, code })).toMatchObject({ ok: false });
  });

  it('expires after 10 minutes; a new code replaces it but keeps the tries used', async () => {
    const { approvalId } = await park(gw, key, { amount_cents: 100 });
    const input = { workspaceId: tenant.workspaceId, approvalId, memberId: who('bob').memberId };
    await otp.send({ workspaceId: tenant.workspaceId, approvalId, member: who('bob') });
    const first = codeFor('bob@otp.test');
    expect(await otp.check({ ...input, code: wrongFor(first) })).toMatchObject({
      reason: 'wrong',
      triesLeft: 4,
    });
    gw.now.advance(10 * 60_000);
    try {
      expect(await otp.check({ ...input, code: first })).toMatchObject({ ok: false, reason: 'expired' });
      await otp.send({ workspaceId: tenant.workspaceId, approvalId, member: who('bob') });
      const second = codeFor('bob@otp.test');
      expect(await otp.check({ ...input, code: wrongFor(second) })).toMatchObject({
        reason: 'wrong',
        triesLeft: 3,
      });
      expect(await otp.check({ ...input, code: second })).toEqual({ ok: true });
    } finally {
      gw.now.advance(-10 * 60_000);
    }
  });

  it('parallel guesses cannot exceed five tries; then the step is locked', async () => {
    const { approvalId } = await park(gw, key, { amount_cents: 100 });
    const input = { workspaceId: tenant.workspaceId, approvalId, memberId: who('cat').memberId };
    await otp.send({ workspaceId: tenant.workspaceId, approvalId, member: who('cat') });
    const code = codeFor('cat@otp.test');
    const results = await Promise.all(
      Array.from({ length: 12 }, () => otp.check({ ...input, code: wrongFor(code) })),
    );
    expect(results.every((r) => !r.ok)).toBe(true);
    const state = await links.getOtpState(gw.db.reader, {
      approvalId,
      position: 0,
      memberId: input.memberId,
    });
    expect(state?.attempts).toBe(5);
    expect(await otp.check({ ...input, code })).toMatchObject({ ok: false, reason: 'locked' });
    await expect(
      otp.send({ workspaceId: tenant.workspaceId, approvalId, member: who('cat') }),
    ).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    // The lock is this member's: another admin can still approve.
    await otp.send({ workspaceId: tenant.workspaceId, approvalId, member: who('dan') });
    expect(
      await otp.check({ ...input, memberId: who('dan').memberId, code: codeFor('dan@otp.test') }),
    ).toEqual({
      ok: true,
    });
  });

  it('the API: a code only for the active critical stage and its role; approve needs it', async () => {
    const { approvalId } = await park(gw, key, { amount_cents: 100 });
    const sam = await addMember(gw, tenant, `sam+${Date.now()}@otp.test`, 'approver');
    expect((await call(gw, 'POST', `/v1/approvals/${approvalId}/otp`, { key: sam })).status).toBe(403);
    expect((await call(gw, 'POST', '/v1/approvals/apr_nope/otp', { key: tenant.adminToken })).status).toBe(
      404,
    );
    const wrong = await call(gw, 'POST', `/v1/approvals/${approvalId}/approve`, {
      key: tenant.adminToken,
      body: { otp: '000000' },
    });
    expect(wrong.status).toBe(403);
    expect(wrong.body).toMatchObject({ details: { otpRequired: true } });
    // A standard stage needs no code.
    const plain = await policyKey(gw, tenant, 'plain', stagedPolicy([stage(0, 'admin')]));
    const other = await park(gw, plain, { amount_cents: 100 });
    const res = await call(gw, 'POST', `/v1/approvals/${other.approvalId}/otp`, { key: tenant.adminToken });
    expect(res.status).toBe(409);
    expect(res.body.error).toBe('The active stage does not need a one-time code.');
  });
});
