import * as AdaptiveCards from 'adaptivecards';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../../gateway/db/types.ts';
import { deliverDue } from '../../gateway/services/notifications/index.ts';
import {
  addMember,
  park,
  policyKey,
  type Receiver,
  stage,
  stagedPolicy,
  startReceiver,
} from '../e2e/support.ts';
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

/**
 * Issue 23, item 2: Microsoft Teams. A stand-in Workflows webhook receives the card; the card is
 * checked with Microsoft's own Adaptive Cards library (parsed with its serialization context, then
 * validated), which reports unknown elements and missing required properties.
 */

interface Card {
  type: string;
  version: string;
  body: { type: string; text?: string; facts?: { title: string; value: string }[] }[];
  actions: { type: string; url?: string; title?: string }[];
}

/** Every problem the Adaptive Cards library finds in a card: parse events, then validation. */
function cardProblems(card: unknown): string[] {
  const parsed = new AdaptiveCards.AdaptiveCard();
  const context = new AdaptiveCards.SerializationContext();
  parsed.parse(card, context);
  const problems: string[] = [];
  for (let i = 0; i < context.eventCount; i += 1) problems.push(context.getEventAt(i).message);
  for (const e of parsed.validateProperties().validationEvents) problems.push(e.message);
  return problems;
}

describe('the problem check can fail', () => {
  it('names an unknown element and a link action without its url', () => {
    const problems = cardProblems({
      type: 'AdaptiveCard',
      version: '1.4',
      body: [{ type: 'Bogus' }],
      actions: [{ type: 'Action.OpenUrl', title: 'x' }],
    });
    expect(problems).toEqual([
      'Unknown element type "Bogus". Fallback will be used if present.',
      'Property "url" must be set.',
    ]);
  });
});

describe.each(DIALECTS)('Teams approval cards (%s)', (dialect) => {
  let gw: TestGateway;
  let teams: Receiver;
  let upstream: Upstream;
  let tenant: Tenant;
  let webhookUrl: string;

  beforeAll(async () => {
    teams = await startReceiver([503, 202]);
    upstream = await startUpstream();
    gw = await startTestGateway({ dialect });
    await registerHttpBusiness(gw, upstream.url, 'shop', 'retail');
    tenant = await createTenant(gw);
    await addMember(gw, tenant, 'tess@acme.test', 'approver');
    webhookUrl = `${teams.url}/workflows/abc123/triggers/manual/paths/invoke?sig=secretsig`;
  });
  afterAll(async () => {
    await gw.dispose();
    await teams.close();
    await upstream.close();
  });

  it('connects a Workflows webhook, sealed and never shown again; refuses a URL that is not http(s)', async () => {
    const bad = await call(gw, 'PUT', '/v1/channels/teams', {
      key: tenant.adminToken,
      body: { webhookUrl: 'ftp://teams.example/hook' },
    });
    expect(bad.status).toBe(400);
    const res = await call(gw, 'PUT', '/v1/channels/teams', { key: tenant.adminToken, body: { webhookUrl } });
    expect(res.status).toBe(200);
    const listed = await call(gw, 'GET', '/v1/channels', { key: tenant.adminToken });
    expect(JSON.stringify(listed.body)).not.toContain('secretsig');
    const stored = await gw.db.reader.all(sql('SELECT secrets FROM channels', (r) => String(r[0])));
    expect(stored.join()).not.toContain('secretsig');
  });

  it('posts a valid Adaptive Card with the summary and a link to the console, retried through an outage', async () => {
    const key = await policyKey(gw, tenant, 'teams', stagedPolicy([stage(0, 'approver')]));
    const { approvalId } = await park(gw, key, { sku: 'teams-order', amount_cents: 4200 });
    const first = await deliverDue(gw.deps, gw.notify.senders, { batch: 100 });
    expect(first.retrying).toBeGreaterThanOrEqual(1);
    gw.now.advance(5_000);
    await deliverDue(gw.deps, gw.notify.senders, { batch: 100 });
    expect(teams.received).toHaveLength(2);
    const last = teams.received[1] as (typeof teams.received)[number];
    expect(last.headers['content-type']).toBe('application/json');
    const message = JSON.parse(last.body) as {
      type: string;
      attachments: { contentType: string; content: Card }[];
    };
    expect(message.type).toBe('message');
    expect(message.attachments).toHaveLength(1);
    const attachment = message.attachments[0] as (typeof message.attachments)[number];
    expect(attachment.contentType).toBe('application/vnd.microsoft.card.adaptive');
    const card = attachment.content;
    expect(cardProblems(card)).toEqual([]);
    expect(card).toMatchObject({ type: 'AdaptiveCard', version: '1.4' });
    const facts = Object.fromEntries(card.body.flatMap((b) => b.facts ?? []).map((f) => [f.title, f.value]));
    expect(facts).toMatchObject({
      Business: 'Shop shop (shop)',
      Agent: 'agent-teams',
      Amount: 'USD 42.00',
      Rule: 'needs-people',
      Reason: 'Every order needs a human',
      Deadline: '2026-11-24 13:00 UTC',
    });
    // No action posts back: Teams' incoming webhooks cannot carry a signed decision.
    expect(card.actions).toEqual([
      {
        type: 'Action.OpenUrl',
        title: 'Review and decide in Warden',
        url: `http://localhost:8080/console/approvals/${approvalId}`,
      },
    ]);
  });
});
