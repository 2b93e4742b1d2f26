import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ECHO_CATALOG } from '../../adapters/echo/index.ts';
import { deliverDue } from '../../gateway/services/notifications/index.ts';
import { OPERATORS, routingStageSchema, ruleSchema } from '../../policy/document/schema.ts';
import { linkIn, park, policyKey, type SmtpCapture, stage, stagedPolicy, startSmtp } from '../e2e/support.ts';
import {
  call,
  createTenant,
  registerEcho,
  startTestGateway,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';
import { memberToken, page, signIn } from './support.ts';

/**
 * The console's details a first-time user notices (issue 21 item 4): how a first transaction is
 * made, a first policy that already asks for approval with the field reference a click away, people
 * named by email, one date format on every page, and the emailed approval page in the console's look.
 */

let gw: TestGateway;
let smtp: SmtpCapture;
let tenant: Tenant;
let admin = '';
let adminEmail = '';
const ANN = 'ann@acme.test';

beforeAll(async () => {
  smtp = await startSmtp();
  gw = await startTestGateway({ env: { SMTP_URL: smtp.url } });
  tenant = await createTenant(gw, { name: 'Acme' });
  await registerEcho(gw);
  admin = await signIn(gw, tenant.adminToken);
  const members = await call(gw, 'GET', '/v1/members', { key: tenant.adminToken });
  adminEmail = (members.body.members as { email: string }[])[0]?.email ?? '';
});
afterAll(async () => {
  await gw?.dispose();
  await smtp?.close();
});

const html = async (path: string, cookie = admin) => {
  const res = await page(gw, path, cookie);
  expect(res.status, path).toBe(200);
  return res.text();
};

/** The text a person reads: no tags, no attributes, no scripts. */
const visibleText = (markup: string) =>
  markup
    .replace(/<(script|style|textarea)\b[\s\S]*?<\/\1>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

describe('a workspace on its first day', () => {
  it('transactions: the empty page says how a first one is made, with a request for a listed item', async () => {
    const text = await html('/console/transactions');
    expect(text).toContain('id="no-transactions"');
    expect(text).toContain('No transactions yet');
    expect(text).toMatch(/href="\/console\/keys"/);
    expect(text).toMatch(/href="\/docs"/);
    const curl = /curl -s (\S+)\/agp\/execute[\s\S]*?-d '([^']+)'/.exec(visibleText(text));
    expect(curl?.[1]).toBe('http://gateway.test');
    const body = JSON.parse(curl?.[2] ?? '{}') as { businessId: string; request: { sku: string } };
    expect(body.businessId).toBe('echo');
    expect(ECHO_CATALOG.map((i) => i.sku)).toContain(body.request.sku);
    // The request shown works as written, with the workspace's key in place of the placeholder.
    const sent = await call(gw, 'POST', '/agp/execute', { key: tenant.agentKey, body });
    expect(sent.status).toBe(200);
    expect(sent.body.status).toBe('succeeded');

    // Filters that match nothing say so, not how to start.
    const filtered = await html('/console/transactions?agent=nobody');
    expect(filtered).toContain('No transaction matches these filters.');
    expect(filtered).not.toContain('No transactions yet');
  });

  it('policy: the starter asks for approval over an amount, saves as is, and parks a large order', async () => {
    const fresh = await createTenant(gw, { name: 'Fresh' });
    const cookie = await signIn(gw, fresh.adminToken);
    const text = await html('/console/policy', cookie);
    expect(text).toContain('id="policy-first-run"');
    expect(text).toMatch(/<a href="\/console\/help\/policy" id="policy-reference-link">/);
    const starter = /<textarea[^>]*id="policy-document"[^>]*>([\s\S]*?)<\/textarea>/.exec(text)?.[1] ?? '';
    const document = JSON.parse(starter.replace(/&quot;/g, '"').replace(/&amp;/g, '&')) as {
      rules: { action: string }[];
    };
    expect(document.rules.map((r) => r.action)).toContain('require_approval');

    const put = await call(gw, 'PUT', '/v1/policies/default', { key: fresh.adminToken, body: document });
    expect(put.status).toBe(201);
    const small = await call(gw, 'POST', '/agp/execute', {
      key: fresh.agentKey,
      body: { businessId: 'echo', request: { sku: 'sticker', quantity: 1, amount_cents: 50 } },
    });
    expect(small.body.status).toBe('succeeded');
    const large = await call(gw, 'POST', '/agp/execute', {
      key: fresh.agentKey,
      body: { businessId: 'echo', request: { sku: 'grinder', quantity: 1, amount_cents: 12_900 } },
    });
    expect(large.status).toBe(202);
    expect(large.body.status).toBe('pending_approval');
    // Saved: the editor is no longer a first run.
    expect(await html('/console/policy', cookie)).not.toContain('id="policy-first-run"');
  });

  it('the policy reference: every field of a rule and a stage, every operator, for every role', async () => {
    const approver = await signIn(gw, await memberToken(gw, tenant, 'viewer@acme.test', 'approver'));
    const text = await html('/console/help/policy', approver);
    for (const name of [...Object.keys(ruleSchema.shape), ...Object.keys(routingStageSchema.shape)]) {
      expect(text).toContain(`<code>${name}</code>`);
    }
    for (const op of OPERATORS) expect(text).toContain(`<code>${op}</code>`);
    // In-page links resolve to a section of the page.
    for (const [, anchor] of text.matchAll(/href="#([a-z0-9-]+)"/g)) expect(text).toContain(`id="${anchor}"`);
    expect(text).not.toMatch(/DESIGN|\.\.\/shared/);
  });
});

describe('people and dates', () => {
  let approvalId = '';
  let transactionId = '';
  let link = '';

  beforeAll(async () => {
    await memberToken(gw, tenant, ANN, 'approver');
    const key = await policyKey(gw, tenant, 'people', stagedPolicy([stage(0, 'approver', { quorum: 2 })]));
    ({ approvalId, transactionId } = await park(gw, key, { sku: 'grinder', amount_cents: 12_900 }, 'echo'));
    await deliverDue(gw.deps, gw.notify.senders);
    link = new URL(linkIn(await smtp.next(ANN))).pathname;
    const ann = await memberToken(gw, tenant, 'bo@acme.test', 'approver');
    const vote = await call(gw, 'POST', `/v1/approvals/${approvalId}/approve`, { key: ann, body: {} });
    expect(vote.status).toBe(200);
    await call(gw, 'POST', '/v1/webhooks', {
      key: tenant.adminToken,
      body: { url: 'https://hooks.example.com/w', events: ['transaction.completed'] },
    });
    await call(gw, 'POST', '/v1/invites', {
      key: tenant.adminToken,
      body: { email: 'new@acme.test', role: 'developer' },
    });
  });

  it('votes and the audit log name members by email, never by a mem_ id', async () => {
    const approval = await html(`/console/approvals/${approvalId}`);
    const votes = /<ul[^>]*id="votes"[^>]*>([\s\S]*?)<\/ul>/.exec(approval)?.[1] ?? '';
    expect(votes).toContain('bo@acme.test');
    expect(votes).not.toContain('mem_');

    const audit = await html('/console/audit');
    const actors = [...audit.matchAll(/<td data-label="Actor">([^<]*)<\/td>/g)].map((m) => m[1] ?? '');
    expect(actors.length).toBeGreaterThan(0);
    expect(actors).toContain(adminEmail);
    expect(actors.join(' ')).not.toContain('mem_');
    const targets = [...audit.matchAll(/<td data-label="Target">([^<]*)<\/td>/g)].map((m) => m[1] ?? '');
    expect(targets.join(' ')).not.toContain('mem_');

    const members = await html('/console/members');
    expect(visibleText(members)).not.toContain('mem_');
    expect(members).toContain(ANN);
  });

  it('every page shows a moment one way: UTC to the minute in a <time> with the exact instant', async () => {
    const paths = [
      '/console',
      '/console/transactions',
      `/console/transactions/${transactionId}`,
      '/console/approvals',
      '/console/approvals?tab=history',
      `/console/approvals/${approvalId}`,
      '/console/policy?name=people',
      '/console/keys',
      '/console/members',
      '/console/webhooks',
      '/console/businesses',
      '/console/audit',
    ];
    let times = 0;
    for (const path of [...paths, link]) {
      const markup = path === link ? await (await gw.app.request(link)).text() : await html(path);
      // The text outside code (a request or a document may hold anything) carries no ISO instant.
      const prose = visibleText(markup.replace(/<(pre|code)\b[\s\S]*?<\/\1>/g, ' '));
      expect(prose, path).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d/);
      for (const [, datetime, shown] of markup.matchAll(
        /<time datetime="([^"]+)"[^>]*>([\s\S]*?)<\/time>/g,
      )) {
        times += 1;
        expect(datetime, path).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        // A countdown is relative ("3 h 59 min left"); every other moment is written the one way.
        if (!shown?.includes('data-deadline')) {
          expect(shown, path).toBe(`${datetime?.slice(0, 10)} ${datetime?.slice(11, 16)} UTC`);
        }
      }
    }
    expect(times).toBeGreaterThan(paths.length);
  });

  it('the emailed page: the console stylesheet under a CSP without inline styles, and the same dates', async () => {
    const res = await gw.app.request(link);
    expect(res.status).toBe(200);
    const markup = await res.text();
    expect(markup).not.toContain('<style');
    const sheet = /<link rel="stylesheet" href="(\/console\/assets\/console\.[0-9a-f]+\.css)"/.exec(
      markup,
    )?.[1];
    expect(sheet).toBeDefined();
    const css = await gw.app.request(sheet ?? '');
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    expect(res.headers.get('content-security-policy')).toMatch(/style-src 'self'/);
    expect(res.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    expect(markup).toMatch(/<header class="top">/);
    expect(markup).toMatch(/<button type="submit" name="decision" value="approve" class="approve">/);
  });
});
