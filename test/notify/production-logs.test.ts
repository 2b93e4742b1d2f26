import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../gateway/logger.ts';
import { deliverDue } from '../../gateway/services/notifications/index.ts';
import { addMember, park, policyKey, stage, stagedPolicy } from '../e2e/support.ts';
import { call, createTenant, registerEcho, startTestGateway, type TestGateway } from '../support/harness.ts';

// Issue 8: in production without SMTP_URL, anyone who reads the logs must not be able to approve.
describe('production without SMTP_URL', () => {
  let gw: TestGateway;
  const lines: string[] = [];

  beforeAll(async () => {
    const logger = createLogger(
      'info',
      new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    gw = await startTestGateway({
      logger,
      env: { NODE_ENV: 'production', SMTP_URL: '', PUBLIC_BASE_URL: 'https://warden.prod.test' },
    });
  });
  afterAll(async () => {
    await gw.dispose();
  });

  it('warns at start that approval emails are neither sent nor logged', () => {
    expect(lines.join('')).toMatch(/SMTP_URL is not set/);
  });

  it('no magic link and no one-time code reaches the log', async () => {
    const tenant = await createTenant(gw);
    await registerEcho(gw, 'shop');
    const approver = await addMember(gw, tenant, 'ann@prod.test', 'approver');
    await addMember(gw, tenant, 'dan@prod.test', 'admin');
    const key = await policyKey(
      gw,
      tenant,
      'two',
      stagedPolicy([stage(0, 'approver'), stage(1, 'admin', { tier: 'critical_otp' })]),
    );
    const { approvalId } = await park(gw, key, { sku: 'sticker', amount_cents: 50 });
    await deliverDue(gw.deps, gw.notify.senders);
    expect(
      (await call(gw, 'POST', `/v1/approvals/${approvalId}/approve`, { key: approver, body: {} })).status,
    ).toBe(200);
    await deliverDue(gw.deps, gw.notify.senders);
    // The critical stage: the admin asks for a code, which is "sent" by email.
    const otp = await call(gw, 'POST', `/v1/approvals/${approvalId}/otp`, {
      key: tenant.adminToken,
      body: {},
    });
    expect(otp.status).toBeLessThan(300);

    const log = lines.join('');
    // The emails were handled (their recipients are logged) ...
    expect(log).toMatch(/ann@prod\.test/);
    expect(log).toMatch(/dan@prod\.test/);
    // ... but neither a personal link nor any 6-digit code is in the log.
    expect(log).not.toMatch(/\/approve\/wal_/);
    expect(log).not.toMatch(/wal_[A-Za-z0-9_-]{20,}/);
    expect(log).not.toMatch(/\b\d{6}\b/);
  });
});
