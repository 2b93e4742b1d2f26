import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fireDueDeadlines } from '../../gateway/services/approvals/index.ts';
import { deliverDue } from '../../gateway/services/notifications/index.ts';
import { form, open, signIn } from '../console/support.ts';
import { addMember, park, policyKey, stage, stagedPolicy } from '../e2e/support.ts';
import { DIALECTS } from '../support/dialects.ts';
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
import { type SlackStandIn, slackCallback, startSlack } from './slack-stand-in.ts';

/**
 * Issue 23, item 1: approvals in Slack. A Slack Web API stand-in records what the gateway posts;
 * the tests click the buttons by sending interactive callbacks signed as Slack signs them.
 */

const BOT_TOKEN = 'xoxb-1111-2222-testbottoken';
const SIGNING_SECRET = 'f00dfacecafe0123456789abcdef0123';

describe.each(DIALECTS)('Slack approvals (%s)', (dialect) => {
  let gw: TestGateway;
  let slack: SlackStandIn;
  let upstream: Upstream;
  let tenant: Tenant;
  let channelId: string;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    slack = await startSlack(BOT_TOKEN);
    upstream = await startUpstream();
    gw = await startTestGateway({ dialect, env: { SLACK_API_URL: slack.apiUrl } });
    await registerHttpBusiness(gw, upstream.url, 'shop', 'retail');
    tenant = await createTenant(gw);
    for (const name of ['alice', 'bob', 'carol']) {
      tokens[name] = await addMember(gw, tenant, `${name}@acme.test`, 'approver');
    }
    tokens.dana = await addMember(gw, tenant, 'dana@acme.test', 'admin');
    slack.users.set('UALICE', { email: 'alice@acme.test', confirmed: true });
    slack.users.set('UBOB', { email: 'Bob@Acme.test', confirmed: true });
    slack.users.set('USTRANGER', { email: 'stranger@elsewhere.test', confirmed: true });
    // Carol's Slack account has an email Slack never confirmed: it must not vouch for her.
    slack.users.set('UCAROL', { email: 'carol@acme.test', confirmed: false });
    const res = await call(gw, 'PUT', '/v1/channels/slack', {
      key: tenant.adminToken,
      body: { botToken: BOT_TOKEN, signingSecret: SIGNING_SECRET, routes: { approver: 'C0APPROVERS' } },
    });
    expect(res.status).toBe(200);
    channelId = res.body.id as string;
    expect(res.body.interactionsUrl).toBe(`http://localhost:8080/v1/slack/interactions/${channelId}`);
    expect(JSON.stringify(res.body)).not.toContain(BOT_TOKEN);
  });
  afterAll(async () => {
    await gw.dispose();
    await slack.close();
    await upstream.close();
  });

  const deliver = () => deliverDue(gw.deps, gw.notify.senders, { batch: 100 });
  const nowSeconds = () => Math.floor(gw.now.value / 1000);
  const click = (
    userId: string,
    value: string,
    options: { action?: string; timestamp?: number; secret?: string } = {},
  ) =>
    slackCallback({
      signingSecret: options.secret ?? SIGNING_SECRET,
      timestamp: options.timestamp ?? nowSeconds(),
      userId,
      actionId: options.action ?? 'warden_approve',
      value,
    });
  const send = (cb: { rawBody: string; headers: Record<string, string> }) =>
    call(gw, 'POST', `/v1/slack/interactions/${channelId}`, cb);
  const approval = async (id: string) =>
    (await call(gw, 'GET', `/v1/approvals/${id}`, { key: tenant.adminToken })).body as {
      status: string;
      votes: { memberId: string; decision: string; via: string }[];
      transaction: { status: string };
    };
  type Block = {
    type: string;
    block_id?: string;
    elements?: { action_id?: string; value?: string; url?: string }[];
  };
  const blocksOf = (call: { args: Record<string, unknown> }) => call.args.blocks as Block[];
  const buttons = (blocks: Block[]) =>
    blocks.filter((b) => b.type === 'actions').flatMap((b) => (b.elements ?? []).map((e) => e.action_id));
  const text = (blocks: Block[]) => JSON.stringify(blocks);

  /** Parks an order under `stages` and delivers its Slack message; answers the button value. */
  const parkAndPost = async (name: string, stages = [stage(0, 'approver')], amount = 1250) => {
    const key = await policyKey(gw, tenant, name, stagedPolicy(stages));
    const parked = await park(gw, key, { sku: name, amount_cents: amount });
    const before = slack.of('chat.postMessage').length;
    await deliver();
    const posts = slack.of('chat.postMessage').slice(before);
    return { ...parked, key, posts, value: `${parked.approvalId}:0` };
  };

  it('posts the summary with Approve and Reject; an approve from Slack completes the execute', async () => {
    const { approvalId, transactionId, key, posts, value } = await parkAndPost('slack-one');
    expect(posts).toHaveLength(1);
    const post = posts[0] as (typeof posts)[number];
    expect(post.args.channel).toBe('C0APPROVERS');
    const blocks = blocksOf(post);
    expect(buttons(blocks)).toEqual(['warden_approve', 'warden_reject', 'warden_open']);
    const approve = blocks.flatMap((b) => b.elements ?? []).find((e) => e.action_id === 'warden_approve');
    expect(approve?.value).toBe(value);
    // The summary: business, agent, amount, rule and reason, deadline.
    for (const fact of [
      'Shop shop (shop)',
      'agent-slack-one',
      'USD 12.50',
      'needs-people',
      'Every order needs a human',
      '2026-11-24 13:00 UTC',
    ]) {
      expect(text(blocks)).toContain(fact);
    }

    const res = await send(click('UALICE', value));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ outcome: 'decided', approvalId, status: 'approved' });
    expect(slack.of('users.info').map((c) => c.args.user)).toContain('UALICE');
    // The business executed the parked request, once.
    expect(upstream.requests.filter((r) => r.body.includes('slack-one'))).toHaveLength(1);
    const status = await call(gw, 'GET', `/agp/status/${transactionId}`, { key });
    expect(status.body.status).toBe('succeeded');
    const after = await approval(approvalId);
    expect(after.votes).toMatchObject([{ decision: 'approve', via: 'slack' }]);

    // The message is rewritten: who decided, the outcome, no buttons.
    const before = slack.of('chat.update').length;
    await deliver();
    const updates = slack.of('chat.update').slice(before);
    expect(updates).toHaveLength(1);
    const update = updates[0] as (typeof updates)[number];
    expect(update.args).toMatchObject({ channel: 'C0APPROVERS', ts: post.result?.ts });
    expect(update.args.ts).toMatch(/^\d+\.\d+$/);
    expect(buttons(blocksOf(update))).toEqual([]);
    expect(text(blocksOf(update))).toContain('Approved by alice@acme.test (slack)');
    expect(text(blocksOf(update))).toContain('*Approved*');
  });

  it('refuses a bad signature, a timestamp six minutes old, and an unknown or unconfirmed Slack user: nothing changes', async () => {
    const { approvalId, value } = await parkAndPost('slack-refusals');
    const updatesBefore = slack.of('chat.update').length;
    const forged = await send(click('UALICE', value, { secret: 'not-the-signing-secret' }));
    expect(forged.status).toBe(401);
    expect(forged.body.code).toBe('UNAUTHORIZED');
    const stale = await send(click('UALICE', value, { timestamp: nowSeconds() - 6 * 60 }));
    expect(stale.status).toBe(401);
    // A body changed after signing is refused too.
    const signed = click('UALICE', value);
    const tampered = await send({
      ...signed,
      rawBody: signed.rawBody.replace('warden_approve', 'warden_reject'),
    });
    expect(tampered.status).toBe(401);
    const stranger = await send(click('USTRANGER', value));
    expect(stranger.status).toBe(403);
    expect(stranger.body.code).toBe('FORBIDDEN');
    const unconfirmed = await send(click('UCAROL', value));
    expect(unconfirmed.status).toBe(403);
    const nobody = await send(click('UNOSUCHUSER', value));
    expect(nobody.status).toBe(403);

    const still = await approval(approvalId);
    expect(still.status).toBe('pending');
    expect(still.votes).toEqual([]);
    await deliver();
    expect(slack.of('chat.update').length).toBe(updatesBefore);
    expect(upstream.requests.filter((r) => r.body.includes('slack-refusals'))).toHaveLength(0);
  });

  it('the same click sent twice at once: one vote, one execute', async () => {
    const { approvalId, value } = await parkAndPost('slack-race');
    const cb = click('UALICE', value);
    const statuses = (await Promise.all([send(cb), send(cb), send(cb)])).map((r) => r.status).sort();
    expect(statuses).toEqual([200, 409, 409]);
    expect((await approval(approvalId)).votes).toHaveLength(1);
    expect(upstream.requests.filter((r) => r.body.includes('slack-race'))).toHaveLength(1);
  });

  it('answers a callback whose payload is not JSON with 400, and changes nothing', async () => {
    const { approvalId } = await parkAndPost('slack-garbled');
    const timestamp = nowSeconds();
    const rawBody = 'payload=%7Bnot-json';
    const signature = `v0=${createHmac('sha256', SIGNING_SECRET).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`;
    const res = await send({
      rawBody,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': String(timestamp),
        'x-slack-signature': signature,
      },
    });
    expect(res.status).toBe(400);
    expect((await approval(approvalId)).votes).toEqual([]);
  });

  it('refuses a replayed callback: one vote, one execute', async () => {
    const { approvalId, value } = await parkAndPost('slack-replay');
    const cb = click('UBOB', value);
    expect((await send(cb)).status).toBe(200);
    const replay = await send(cb);
    expect(replay.status).toBe(409);
    expect(replay.body.code).toBe('CONFLICT');
    const after = await approval(approvalId);
    expect(after.votes).toHaveLength(1);
    expect(upstream.requests.filter((r) => r.body.includes('slack-replay'))).toHaveLength(1);
  });

  it('quorum 2 of 3 with two Slack users: the first vote waits, the second approves; nobody votes twice', async () => {
    const { approvalId, value, transactionId, key } = await parkAndPost('slack-quorum', [
      stage(0, 'approver', { quorum: 2 }),
    ]);
    const first = await send(click('UALICE', value));
    expect(first.body).toMatchObject({ outcome: 'decided', status: 'pending' });
    await deliver();
    const progress = slack.of('chat.update').at(-1);
    expect(text(blocksOf(progress as NonNullable<typeof progress>))).toContain('Waiting: 1 of 2 approvals');
    expect(buttons(blocksOf(progress as NonNullable<typeof progress>))).toContain('warden_approve');
    const again = await send(click('UALICE', value, { timestamp: nowSeconds() + 1 }));
    expect(again.status).toBe(409);
    expect((await approval(approvalId)).status).toBe('pending');
    const second = await send(click('UBOB', value));
    expect(second.body).toMatchObject({ outcome: 'decided', status: 'approved' });
    expect((await call(gw, 'GET', `/agp/status/${transactionId}`, { key })).body.status).toBe('succeeded');
    expect((await approval(approvalId)).votes.map((v) => v.via)).toEqual(['slack', 'slack']);
  });

  it('updates the message when the stage is decided in the console', async () => {
    const { approvalId, posts } = await parkAndPost('slack-console');
    const cookie = await signIn(gw, tokens.carol ?? '');
    const { csrf } = await open(gw, `/console/approvals/${approvalId}`, cookie);
    const res = await form(
      gw,
      `/console/approvals/${approvalId}/decision`,
      { csrf, decision: 'reject' },
      { cookie },
    );
    expect(res.status).toBe(303);
    const before = slack.of('chat.update').length;
    await deliver();
    const update = slack.of('chat.update').slice(before)[0];
    expect(update?.args.ts).toBe(posts[0]?.result?.ts);
    expect(update?.args.ts).toEqual(expect.any(String));
    expect(text(blocksOf(update as NonNullable<typeof update>))).toContain(
      'Rejected by carol@acme.test (console)',
    );
    expect(text(blocksOf(update as NonNullable<typeof update>))).toContain('*Rejected*');
    expect(buttons(blocksOf(update as NonNullable<typeof update>))).toEqual([]);
  });

  it('a critical (one-time code) stage links to the console instead of buttons, and a forged approve is refused', async () => {
    const { approvalId, posts, value } = await parkAndPost('slack-critical', [
      stage(0, 'approver', { tier: 'critical_otp' }),
    ]);
    const blocks = blocksOf(posts[0] as NonNullable<(typeof posts)[number]>);
    expect(buttons(blocks)).toEqual(['warden_open']);
    const link = blocks.flatMap((b) => b.elements ?? []).find((e) => e.action_id === 'warden_open');
    expect(link?.url).toBe(`http://localhost:8080/console/approvals/${approvalId}`);
    expect(text(blocks)).toContain('one-time code');
    const forged = await send(click('UALICE', value));
    expect(forged.status).toBe(403);
    expect((await approval(approvalId)).votes).toEqual([]);
  });

  it('direct messages to members with the role who linked their Slack user; a link maps the user', async () => {
    // Carol links her Slack user in the console (its email is not confirmed in Slack).
    const cookie = await signIn(gw, tokens.carol ?? '');
    const { csrf } = await open(gw, '/console/integrations', cookie);
    const linked = await form(
      gw,
      '/console/integrations/slack-link',
      { csrf, slackUserId: 'UCAROL' },
      { cookie },
    );
    expect(linked.status).toBe(200);
    expect(await linked.text()).toContain('Linked: UCAROL');
    const api = await call(gw, 'PUT', '/v1/channels/slack/link', {
      key: tokens.carol,
      body: { slackUserId: 'bad' },
    });
    expect(api.status).toBe(400);
    await call(gw, 'PUT', '/v1/channels/slack', {
      key: tenant.adminToken,
      body: { botToken: BOT_TOKEN, signingSecret: SIGNING_SECRET, routes: { approver: 'dm' } },
    });
    const { approvalId, posts, value } = await parkAndPost('slack-dm');
    expect(posts.map((p) => p.args.channel)).toEqual(['UCAROL']);
    // Carol's Slack email is unconfirmed, but she linked this Slack user herself.
    const res = await send(click('UCAROL', value));
    expect(res.body).toMatchObject({ outcome: 'decided', status: 'approved' });
    expect((await approval(approvalId)).votes).toMatchObject([{ via: 'slack' }]);
    await deliver();
    expect(slack.of('chat.update').at(-1)?.args.channel).toBe('DCAROL');
  });

  it('a Slack outage never blocks the approval: the delivery is retried and visible on the webhooks page', async () => {
    await call(gw, 'PUT', '/v1/channels/slack', {
      key: tenant.adminToken,
      body: { botToken: BOT_TOKEN, signingSecret: SIGNING_SECRET, routes: { approver: 'C0APPROVERS' } },
    });
    slack.failWith = 503;
    const { approvalId, posts } = await parkAndPost('slack-outage');
    expect(posts).toHaveLength(0);
    const decided = await call(gw, 'POST', `/v1/approvals/${approvalId}/approve`, { key: tokens.bob });
    expect(decided.status).toBe(200);
    expect(decided.body.status).toBe('approved');
    const cookie = await signIn(gw, tenant.adminToken);
    const { html } = await open(gw, '/console/webhooks', cookie);
    expect(html).toContain('Slack');
    expect(html).toMatch(/pending/);
    expect(html).toContain('statusCode = 503');
    slack.failWith = null;
    gw.now.advance(60_000);
    await deliver();
    // The post comes after the decision: the stage is closed, so there is nothing to ask for.
    expect(
      slack.of('chat.postMessage').filter((p) => JSON.stringify(p.args).includes(approvalId)),
    ).toHaveLength(0);
  });

  it('every connection route is admin-only and never shows a secret', async () => {
    const listed = await call(gw, 'GET', '/v1/channels', { key: tenant.adminToken });
    expect(listed.status).toBe(200);
    expect(JSON.stringify(listed.body)).not.toContain(BOT_TOKEN);
    expect(JSON.stringify(listed.body)).not.toContain(SIGNING_SECRET);
    expect((await call(gw, 'GET', '/v1/channels', { key: tokens.alice })).status).toBe(403);
    const other = await createTenant(gw);
    // Another workspace's admin cannot post into this connection's callback.
    expect((await call(gw, 'DELETE', '/v1/channels/teams', { key: other.adminToken })).status).toBe(404);
    const sealed = await gw.db.reader.all(
      (await import('../../gateway/db/types.ts')).sql('SELECT secrets FROM channels', (r) => String(r[0])),
    );
    expect(sealed.join()).not.toContain(BOT_TOKEN);
    expect(sealed.every((s) => s.startsWith('enc:v1:'))).toBe(true);
  });

  // Last: it moves the clock past every open deadline.
  it('updates the message when the stage expires at its deadline', async () => {
    const { posts } = await parkAndPost('slack-expiry');
    expect(posts).toHaveLength(1);
    gw.now.advance(2 * 3_600_000);
    expect(await fireDueDeadlines(gw.deps)).toBeGreaterThanOrEqual(1);
    await deliver();
    const update = slack
      .of('chat.update')
      .filter((u) => u.args.ts === posts[0]?.result?.ts)
      .at(-1);
    expect(text(blocksOf(update as NonNullable<typeof update>))).toContain(
      'Expired: nobody decided before the deadline',
    );
    expect(buttons(blocksOf(update as NonNullable<typeof update>))).toEqual([]);
  });
});
