import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutboxItem } from '../../gateway/domain/index.ts';
import { createLogger } from '../../gateway/logger.ts';
import { createMailer } from '../../gateway/notify/index.ts';
import * as outbox from '../../gateway/repositories/outbox.ts';
import * as tenancy from '../../gateway/repositories/tenancy.ts';
import { hashSecret } from '../../gateway/secrets.ts';
import { emailSender } from '../../gateway/services/approvals/approval-email.ts';
import { deliverDue, type Senders } from '../../gateway/services/notifications/index.ts';
import { nextAttemptAt } from '../../gateway/services/notifications/outbox.ts';
import { addMember, LINK, park, policyKey, stage, stagedPolicy } from '../e2e/support.ts';
import {
  call,
  createTenant,
  registerHttpBusiness,
  startTestGateway,
  startUpstream,
  type TestGateway,
  type Upstream,
} from '../support/harness.ts';

describe('backoff', () => {
  it('doubles from the base, is capped, and stops after the last attempt', () => {
    const o = { maxAttempts: 8, baseDelayMs: 1000, maxDelayMs: 30_000 };
    expect([0, 1, 2, 3, 4, 5, 6].map((attempts) => nextAttemptAt(attempts, 0, o))).toEqual([
      1000, 2000, 4000, 8000, 16_000, 30_000, 30_000,
    ]);
    expect(nextAttemptAt(7, 0, o)).toBeNull();
    expect(nextAttemptAt(0, 0, { maxAttempts: 1 })).toBeNull();
    // Defaults: 8 attempts, 1 s doubling.
    expect(nextAttemptAt(0, 5)).toBe(1005);
    expect(nextAttemptAt(6, 0)).toBe(64_000);
    expect(nextAttemptAt(7, 0)).toBeNull();
  });
});

describe('the outbox worker', () => {
  let gw: TestGateway;
  let upstream: Upstream;
  let logged: string[];
  let senders: Senders;
  let sent: OutboxItem[];

  beforeAll(async () => {
    upstream = await startUpstream();
    gw = await startTestGateway();
    await registerHttpBusiness(gw, upstream.url, 'shop', 'retail');
    logged = [];
    const logger = createLogger(
      'info',
      new Writable({
        write(chunk, _encoding, done) {
          logged.push(String(chunk));
          done();
        },
      }),
    );
    // No SMTP_URL: the message, its link included, goes to the log.
    const mailer = createMailer({ smtpUrl: undefined, from: 'Warden <w@acme.test>', logger });
    const email = emailSender({ deps: { ...gw.deps, logger }, mailer });
    sent = [];
    senders = {
      email: async (item) => {
        sent.push(item);
        await email(item);
      },
      webhook: gw.notify.senders.webhook,
      callback: gw.notify.senders.callback,
      slack: gw.notify.senders.slack,
      teams: gw.notify.senders.teams,
      policy_sync: gw.notify.senders.policy_sync,
    };
  });
  afterAll(async () => {
    await gw.dispose();
    await upstream.close();
  });

  const parked = async (name: string) => {
    const tenant = await createTenant(gw);
    const approver = await addMember(gw, tenant, `${name}@acme.test`, 'approver');
    const key = await policyKey(gw, tenant, name, stagedPolicy([stage(0, 'approver')]));
    const ids = await park(gw, key, { amount_cents: 2500, sku: name });
    const memberId = (await tenancy.findMemberByTokenHash(gw.db.reader, hashSecret(approver)))?.id;
    return { tenant, approver, key, memberId: memberId ?? '', ...ids };
  };

  it('without SMTP_URL the email, with its personal link, is logged at info', async () => {
    const { memberId } = await parked('logged');
    const round = await deliverDue(gw.deps, senders);
    expect(round.delivered).toBeGreaterThanOrEqual(1);
    const line = logged.find((l) => l.includes('logged@acme.test'));
    expect(line).toBeDefined();
    const entry = JSON.parse(line ?? '{}');
    expect(entry.level).toBe(30);
    expect(entry.mail.text).toMatch(LINK);
    expect(entry.mail.text).toContain('Amount:   USD 25.00');
    expect((await outbox.listOutbox(gw.db.reader, memberId, 5))[0]).toMatchObject({
      status: 'delivered',
      attempts: 1,
    });
  });

  it('a crash mid-delivery re-delivers after the lease; nothing is lost', async () => {
    const { memberId } = await parked('crash');
    // A process claims the item and dies before recording the outcome.
    const claimed = await gw.db.transaction({}, (tx) => outbox.claimOutbox(tx, gw.now.value, 100, 60_000));
    expect(claimed.some((item) => item.targetId === memberId)).toBe(true);
    sent.length = 0;
    await deliverDue(gw.deps, senders);
    expect(sent.filter((item) => item.targetId === memberId)).toHaveLength(0);
    gw.now.advance(60_000);
    await deliverDue(gw.deps, senders);
    expect(sent.filter((item) => item.targetId === memberId)).toHaveLength(1);
    expect((await outbox.listOutbox(gw.db.reader, memberId, 5))[0]).toMatchObject({ status: 'delivered' });
    await deliverDue(gw.deps, senders);
    expect(sent.filter((item) => item.targetId === memberId)).toHaveLength(1);
  });

  it('an email for a stage that was decided meanwhile is not sent (its link would be dead)', async () => {
    const { approver, approvalId, memberId } = await parked('late');
    expect(
      (await call(gw, 'POST', `/v1/approvals/${approvalId}/reject`, { key: approver, body: {} })).status,
    ).toBe(200);
    logged.length = 0;
    await deliverDue(gw.deps, senders);
    expect(logged.some((l) => l.includes('late@acme.test') && l.includes('/approve/'))).toBe(false);
    expect((await outbox.listOutbox(gw.db.reader, memberId, 5))[0]).toMatchObject({ status: 'delivered' });
  });

  it('an SMTP server that is down: the email is retried with backoff, the error kept', async () => {
    const { memberId } = await parked('down');
    const down = createMailer({
      smtpUrl: 'smtp://127.0.0.1:9',
      from: 'w@acme.test',
      logger: gw.deps.logger,
    });
    const failing: Senders = { ...senders, email: emailSender({ deps: gw.deps, mailer: down }) };
    try {
      const round = await deliverDue(gw.deps, failing, { baseDelayMs: 5000 });
      expect(round.retrying).toBeGreaterThanOrEqual(1);
      const [item] = await outbox.listOutbox(gw.db.reader, memberId, 5);
      expect(item).toMatchObject({ status: 'pending', attempts: 1, nextAttemptAt: gw.now.value + 5000 });
      expect(item?.lastError).toMatch(/ECONNREFUSED|connect/i);
      gw.now.advance(5000);
      await deliverDue(gw.deps, senders);
      expect((await outbox.listOutbox(gw.db.reader, memberId, 5))[0]).toMatchObject({
        status: 'delivered',
        attempts: 2,
      });
    } finally {
      down.close();
    }
  });
});
