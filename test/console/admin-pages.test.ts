import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnalyticsView } from '../../gateway/console/pages/home.tsx';
import { sql } from '../../gateway/db/types.ts';
import type { Analytics } from '../../gateway/domain/analytics.ts';
import { type SmtpCapture, startSmtp } from '../e2e/support.ts';
import { DIALECTS } from '../support/dialects.ts';
import {
  addAgentKey,
  call,
  createTenant,
  registerEcho,
  startTestGateway,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';
import { form, memberToken, open, page, signIn } from './support.ts';

/**
 * The console's admin pages (issue 14 items 4–6): policy (document, versions, diff, editor,
 * simulate), keys, members and invitations, webhooks, businesses, audit, and the overview. Each
 * page answers its roles and refuses the others; each form does what the API does. On both dialects
 * (the invitation list and withdrawal are new SQL).
 */

describe.each(DIALECTS)('console admin pages on %s', (dialect) => {
  let gw: TestGateway;
  let smtp: SmtpCapture;
  let tenant: Tenant;
  let echo: string;
  const cookies: Record<'admin' | 'developer' | 'approver', string> = {
    admin: '',
    developer: '',
    approver: '',
  };

  beforeAll(async () => {
    smtp = await startSmtp();
    gw = await startTestGateway({ dialect, env: { SMTP_URL: smtp.url } });
    tenant = await createTenant(gw, { name: 'Acme' });
    echo = await registerEcho(gw);
    cookies.admin = await signIn(gw, tenant.adminToken);
    cookies.developer = await signIn(gw, await memberToken(gw, tenant, 'dev@acme.test', 'developer'));
    cookies.approver = await signIn(gw, await memberToken(gw, tenant, 'ann@acme.test', 'approver'));
  });
  afterAll(async () => {
    await gw?.dispose();
    await smtp?.close();
  });

  const versions = async () => {
    const res = await call(gw, 'GET', '/v1/policies/default/versions', { key: tenant.adminToken });
    return res.status === 404 ? [] : (res.body.versions as { version: number }[]);
  };

  /** Posts a console form as `who`, with the CSRF field of the page `from`. */
  async function post(
    who: keyof typeof cookies,
    from: string,
    action: string,
    fields: Record<string, string>,
  ) {
    const { csrf } = await open(gw, from, cookies[who]);
    return form(gw, action, { csrf, ...fields }, { cookie: cookies[who] });
  }

  describe('roles', () => {
    const pages: [string, ('admin' | 'developer' | 'approver')[]][] = [
      ['/console', ['admin', 'developer', 'approver']],
      ['/console/policy', ['admin', 'developer']],
      ['/console/keys', ['admin', 'developer']],
      ['/console/members', ['admin']],
      ['/console/webhooks', ['admin']],
      ['/console/businesses', ['admin', 'developer', 'approver']],
      ['/console/audit', ['admin']],
    ];
    const cases = pages.flatMap(([path, allowed]) =>
      (['admin', 'developer', 'approver'] as const).map(
        (role) => [path, role, allowed.includes(role)] as const,
      ),
    );
    it.each(cases)('%s as %s (allowed: %s)', async (path, role, allowed) => {
      const res = await page(gw, path, cookies[role]);
      expect(res.status).toBe(allowed ? 200 : 403);
      const html = await res.text();
      if (!allowed) expect(html).toContain('Not for your role');
    });

    it('shows each role only the pages it may open', async () => {
      const nav = async (role: keyof typeof cookies) => {
        const html = await (await page(gw, '/console', cookies[role])).text();
        return /<nav class="main"[\s\S]*?<\/nav>/.exec(html)?.[0] ?? '';
      };
      const approver = await nav('approver');
      expect(approver).toContain('/console/businesses');
      expect(approver).not.toContain('/console/policy');
      expect(approver).not.toContain('/console/audit');
      const developer = await nav('developer');
      expect(developer).toContain('/console/policy');
      expect(developer).toContain('/console/keys');
      expect(developer).not.toContain('/console/members');
      expect(await nav('admin')).toContain('/console/audit');
    });

    it('refuses a developer saving a policy (403) and creates no version', async () => {
      const before = (await versions()).length;
      const res = await post('developer', '/console/policy', '/console/policy/save', {
        name: 'default',
        document: '{}',
      });
      expect(res.status).toBe(403);
      expect((await versions()).length).toBe(before);
    });
  });

  describe('policy', () => {
    it('refuses an invalid document with 422, each problem at its path, and stores nothing', async () => {
      const before = (await versions()).length;
      const document = JSON.stringify({
        spending_limits: [{ id: 'daily', amount: -5, interval: 'fortnight' }],
      });
      const res = await post('admin', '/console/policy', '/console/policy/save', {
        name: 'default',
        document,
      });
      expect(res.status).toBe(422);
      const html = await res.text();
      expect(html).toContain('Not saved');
      expect(html).toMatch(/<code class="path">spending_limits\.0\.amount<\/code>/);
      expect(html).toMatch(/<code class="path">spending_limits\.0\.interval<\/code>/);
      // The text typed is kept in the editor.
      expect(html).toContain('fortnight');
      expect((await versions()).length).toBe(before);
    });

    it('refuses text that is not JSON with 422 and says so', async () => {
      const res = await post('admin', '/console/policy', '/console/policy/save', {
        name: 'default',
        document: '{"spending_limits": [',
      });
      expect(res.status).toBe(422);
      expect(await res.text()).toContain('Not JSON');
    });

    it('saves a valid document as a new version, shown as active with who saved it', async () => {
      const before = (await versions()).length;
      const document = JSON.stringify({
        spending_limits: [{ id: 'daily', amount: 10_000, interval: 'day' }],
      });
      const res = await post('admin', '/console/policy', '/console/policy/save', {
        name: 'default',
        document,
      });
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe(`/console/policy?name=default&saved=saved-${before + 1}`);
      expect((await versions()).length).toBe(before + 1);
      const html = await (await page(gw, res.headers.get('location') ?? '', cookies.admin)).text();
      expect(html).toContain(`Saved as version ${before + 1}.`);
      expect(html).toMatch(new RegExp(`Version ${before + 1}, saved .* by admin\\+[a-z0-9]+@acme\\.test\\.`));
      // Saving the same document again changes nothing.
      const again = await post('admin', '/console/policy', '/console/policy/save', {
        name: 'default',
        document,
      });
      expect(again.headers.get('location')).toContain('unchanged');
      expect((await versions()).length).toBe(before + 1);
    });

    it('diffs two versions, each changed line marked in text', async () => {
      const v2 = JSON.stringify({
        spending_limits: [{ id: 'daily', amount: 20_000, interval: 'day' }],
        categories: { allow: ['demo'] },
      });
      expect(
        (await post('admin', '/console/policy', '/console/policy/save', { name: 'default', document: v2 }))
          .status,
      ).toBe(303);
      const all = await versions();
      const [to, from] = all;
      const html = await (
        await page(gw, `/console/policy?name=default&from=${from?.version}&to=${to?.version}`, cookies.admin)
      ).text();
      expect(html).toContain(`Changes from version ${from?.version} to version ${to?.version}`);
      expect(html).toMatch(/<tr class="removed"><td class="mark">− removed<\/td>[\s\S]*?10000/);
      expect(html).toMatch(/<tr class="added"><td class="mark">\+ added<\/td>[\s\S]*?20000/);
      expect(html).toMatch(/\+ added<\/td>[\s\S]*?categories/);
      // The versions list says who and when.
      expect(html).toMatch(
        /<table class="stack" id="versions">[\s\S]*<td data-label="By">admin\+[a-z0-9]+@acme\.test<\/td>/,
      );
    });

    it('checks a document without saving: the problem list for the editor script, a page without it', async () => {
      const before = (await versions()).length;
      const { csrf } = await open(gw, '/console/policy', cookies.admin);
      const res = await gw.app.request('http://gateway.test/console/policy/validate', {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          origin: 'http://gateway.test',
          'x-console-fragment': 'policy-issues',
          cookie: `warden_console=${cookies.admin}`,
        },
        body: new URLSearchParams({
          csrf,
          name: 'default',
          document: '{"default_action":"maybe"}',
        }).toString(),
      });
      expect(res.status).toBe(200);
      const fragment = await res.text();
      expect(fragment).toMatch(/^<div id="policy-issues" aria-live="polite">/);
      expect(fragment).toContain('<code class="path">default_action</code>');
      expect(fragment).not.toContain('<html');
      const pageRes = await form(
        gw,
        '/console/policy/validate',
        { csrf, name: 'default', document: '{}' },
        { cookie: cookies.admin },
      );
      expect(pageRes.status).toBe(200);
      expect(await pageRes.text()).toContain('The document is valid (not saved).');
      expect((await versions()).length).toBe(before);
      // The same check through the API.
      const api = await call(gw, 'POST', '/v1/policies/validate', {
        key: tenant.adminToken,
        body: { default_action: 'maybe' },
      });
      expect(api.status).toBe(200);
      expect(api.body.valid).toBe(false);
    });

    it('simulates a request: the decision and every check, for a developer too', async () => {
      const res = await post('developer', '/console/policy', '/console/policy/simulate', {
        name: 'default',
        businessId: echo,
        agentId: '',
        request: JSON.stringify({ sku: 'sticker', amount_cents: 500, currency: 'USD' }),
      });
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).toContain('id="simulation-result"');
      expect(html).toMatch(/Decision: <span class="decision">(Auto-approved|Rejected|Needs approval)/);
      expect(html).toContain('Every check');
      expect(html).toMatch(/spending limit<\/td><td data-label="Id"><code>daily<\/code>/);
      const over = await post('admin', '/console/policy', '/console/policy/simulate', {
        name: 'default',
        businessId: echo,
        agentId: 'agent-x',
        request: JSON.stringify({ sku: 'sticker', amount_cents: 50_000, currency: 'USD' }),
      });
      expect(await over.text()).toMatch(/Decision: <span class="decision">(Rejected|Needs approval)/);
      const bad = await post('admin', '/console/policy', '/console/policy/simulate', {
        name: 'default',
        businessId: echo,
        request: 'nope',
      });
      expect(bad.status).toBe(422);
      expect(await bad.text()).toContain('The request is not JSON');
    });
  });

  describe('keys', () => {
    it('creates a key and shows it once; revoking asks first, then the key is refused on /agp', async () => {
      const res = await post('admin', '/console/keys', '/console/keys/create', {
        agentId: 'shopper-1',
        scope_discover: 'on',
        scope_query: 'on',
        scope_execute: 'on',
      });
      expect(res.status).toBe(200);
      const html = await res.text();
      const key = /<code id="new-key-value">([^<]+)<\/code>/.exec(html)?.[1] ?? '';
      expect(key).toMatch(/^wk_/);
      const ok = await call(gw, 'GET', '/agp/businesses', { key });
      expect(ok.status).toBe(200);
      const list = await (await page(gw, '/console/keys', cookies.admin)).text();
      expect(list).toContain('shopper-1');
      expect(list).toContain(`${key.slice(0, 10)}…`);
      expect(list).not.toContain(key);

      const id = (await call(gw, 'GET', '/v1/keys', { key: tenant.adminToken })).body.keys as {
        id: string;
        agentId: string;
      }[];
      const keyId = id.find((k) => k.agentId === 'shopper-1')?.id ?? '';
      const ask = await post('admin', '/console/keys', '/console/keys/revoke', { id: keyId });
      expect(ask.status).toBe(200);
      expect(await ask.text()).toContain('Revoke key');
      expect((await call(gw, 'GET', '/agp/businesses', { key })).status).toBe(200);
      const done = await post('admin', '/console/keys', '/console/keys/revoke', {
        id: keyId,
        confirm: 'yes',
      });
      expect(done.status).toBe(303);
      expect((await call(gw, 'GET', '/agp/businesses', { key })).status).toBe(401);
      const after = await (await page(gw, done.headers.get('location') ?? '', cookies.admin)).text();
      expect(after).toContain('revoked: it is refused from now on');
    });

    it('loads the pending-state and editor scripts from fingerprinted assets (no inline script)', async () => {
      const keys = await (await page(gw, '/console/keys', cookies.admin)).text();
      const policy = await (await page(gw, '/console/policy', cookies.admin)).text();
      const pending = /<script src="(\/console\/assets\/pending\.[0-9a-f]{16}\.js)" defer=""><\/script>/.exec(
        keys,
      )?.[1];
      const editor =
        /<script src="(\/console\/assets\/policy-editor\.[0-9a-f]{16}\.js)" defer=""><\/script>/.exec(
          policy,
        )?.[1];
      for (const src of [pending, editor]) {
        expect(src).toBeDefined();
        const res = await page(gw, src ?? '');
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toContain('text/javascript');
      }
      expect(keys).not.toMatch(/<script>/);
      // A developer reads the policy without the editor (or its script).
      const developer = await (await page(gw, '/console/policy', cookies.developer)).text();
      expect(developer).not.toContain('policy-editor.');
      expect(developer).not.toContain('id="policy-document"');
      expect(developer).toContain('Only admins can change the policy');
    });

    it('refuses a key without scopes (422) and an approver (403)', async () => {
      const res = await post('admin', '/console/keys', '/console/keys/create', { agentId: 'no-scopes' });
      expect(res.status).toBe(422);
      const { csrf } = await open(gw, '/console', cookies.approver);
      const approver = await form(
        gw,
        '/console/keys/create',
        { csrf, agentId: 'x', scope_query: 'on' },
        { cookie: cookies.approver },
      );
      expect(approver.status).toBe(403);
    });
  });

  describe('members and invitations', () => {
    it('invites by email with a role, lists the invitation and withdraws it', async () => {
      const after = smtp.messages.length;
      const res = await post('admin', '/console/members', '/console/members/invite', {
        email: 'new@acme.test',
        role: 'developer',
      });
      expect(res.status).toBe(303);
      const mail = await smtp.next('new@acme.test', { after });
      expect(mail.text).toContain('as developer');
      const html = await (await page(gw, '/console/members?done=invited', cookies.admin)).text();
      expect(html).toContain('Invitation sent');
      expect(html).toMatch(/<table class="stack" id="invites">[\s\S]*new@acme\.test[\s\S]*developer/);
      const open = await call(gw, 'GET', '/v1/invites', { key: tenant.adminToken });
      const invite = (open.body.invites as { id: string; email: string }[]).find(
        (i) => i.email === 'new@acme.test',
      );
      expect(invite).toBeDefined();
      const withdrawn = await post('admin', '/console/members', '/console/members/invites/revoke', {
        id: invite?.id ?? '',
      });
      expect(withdrawn.status).toBe(303);
      const later = await call(gw, 'GET', '/v1/invites', { key: tenant.adminToken });
      expect((later.body.invites as { email: string }[]).some((i) => i.email === 'new@acme.test')).toBe(
        false,
      );
    });

    it('changes a role and removes a member after confirming; never the last admin', async () => {
      const token = await memberToken(gw, tenant, 'temp@acme.test', 'approver');
      const members = (await call(gw, 'GET', '/v1/members', { key: tenant.adminToken })).body.members as {
        id: string;
        email: string;
        role: string;
      }[];
      const temp = members.find((m) => m.email === 'temp@acme.test');
      const admin = members.find((m) => m.role === 'admin');
      const changed = await post('admin', '/console/members', '/console/members/role', {
        id: temp?.id ?? '',
        role: 'developer',
      });
      expect(changed.status).toBe(303);
      const list = await (await page(gw, '/console/members', cookies.admin)).text();
      expect(list).toMatch(/temp@acme\.test[\s\S]*?<option value="developer" selected="">/);
      const last = await post('admin', '/console/members', '/console/members/role', {
        id: admin?.id ?? '',
        role: 'approver',
      });
      expect(last.status).toBe(409);
      expect(await last.text()).toContain('last admin');
      const ask = await post('admin', '/console/members', '/console/members/remove', { id: temp?.id ?? '' });
      expect(await ask.text()).toContain('Remove temp@acme.test?');
      const removed = await post('admin', '/console/members', '/console/members/remove', {
        id: temp?.id ?? '',
        confirm: 'yes',
      });
      expect(removed.status).toBe(303);
      expect((await call(gw, 'GET', '/v1/policies', { key: token })).status).toBe(401);
    });
  });

  describe('webhooks', () => {
    it('adds a webhook (secret shown once), lists it with its deliveries, deletes it after confirming', async () => {
      const res = await post('admin', '/console/webhooks', '/console/webhooks/create', {
        url: 'https://hooks.example.com/warden',
        'event_approval.required': 'on',
      });
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).toMatch(/<code id="new-webhook-secret">whsec_/);
      const hooks = (await call(gw, 'GET', '/v1/webhooks', { key: tenant.adminToken })).body.webhooks as {
        id: string;
        events: string[];
      }[];
      expect(hooks).toHaveLength(1);
      expect(hooks[0]?.events).toEqual(['approval.required']);
      // A completed transaction queues a delivery: listed with its status and attempts.
      const before = await (await page(gw, '/console/webhooks', cookies.admin)).text();
      expect(before).toContain('None yet.');
      const created = await post('admin', '/console/webhooks', '/console/webhooks/create', {
        url: 'https://hooks.example.com/done',
        'event_transaction.completed': 'on',
      });
      expect(created.status).toBe(200);
      const exec = await call(gw, 'POST', '/agp/execute', {
        key: tenant.agentKey,
        body: { businessId: echo, request: { sku: 'sticker', quantity: 1, amount_cents: 100 } },
      });
      expect(exec.status).toBe(200);
      const list = await (await page(gw, '/console/webhooks', cookies.admin)).text();
      expect(list).toContain('https://hooks.example.com/warden');
      expect(list).toMatch(
        /hooks\.example\.com\/done[\s\S]*?<td data-label="Event">transaction\.completed<\/td><td data-label="Status"><span class="badge wait">pending<\/span><\/td><td data-label="Attempts" class="num">0<\/td>/,
      );
      const now = (await call(gw, 'GET', '/v1/webhooks', { key: tenant.adminToken })).body.webhooks as {
        id: string;
        url: string;
      }[];
      const second = now.find((h) => h.url.endsWith('/done'));
      await call(gw, 'DELETE', `/v1/webhooks/${second?.id}`, { key: tenant.adminToken });
      expect(list).not.toContain('whsec_');
      const ask = await post('admin', '/console/webhooks', '/console/webhooks/delete', {
        id: hooks[0]?.id ?? '',
      });
      expect(await ask.text()).toContain('Delete the webhook to https://hooks.example.com/warden?');
      const done = await post('admin', '/console/webhooks', '/console/webhooks/delete', {
        id: hooks[0]?.id ?? '',
        confirm: 'yes',
      });
      expect(done.status).toBe(303);
      expect((await call(gw, 'GET', '/v1/webhooks', { key: tenant.adminToken })).body.webhooks).toEqual([]);
    });

    it('refuses a webhook without events (422)', async () => {
      const res = await post('admin', '/console/webhooks', '/console/webhooks/create', {
        url: 'https://hooks.example.com/x',
      });
      expect(res.status).toBe(422);
      expect(await res.text()).toContain('choose at least one event');
    });
  });

  describe('businesses and audit', () => {
    it('lists the businesses the workspace can use and says lifecycle is the operator’s', async () => {
      const html = await (await page(gw, '/console/businesses', cookies.approver)).text();
      expect(html).toContain(`<code>${echo}</code>`);
      expect(html).toContain('/v1/admin/businesses');
    });

    it('shows the audit log newest first with the chain verified', async () => {
      const html = await (await page(gw, '/console/audit', cookies.admin)).text();
      expect(html).toMatch(
        /<p class="good-text" id="chain-state">Verified: all \d+ events are intact and in order\.<\/p>/,
      );
      const actions = [...html.matchAll(/<td data-label="Action"><code>([a-z_.]+)<\/code>/g)].map(
        (m) => m[1],
      );
      expect(actions).toContain('policy.changed');
      expect(actions).toContain('agent_key.revoked');
      // Newest first: the webhook deletion came after the key revocation.
      expect(actions.indexOf('webhook.deleted')).toBeLessThan(actions.indexOf('agent_key.revoked'));
    });
  });

  describe('audit paging and a broken chain', () => {
    it('pages 50 events at a time, newest first, and names the first broken event', async () => {
      const other = await createTenant(gw, { name: 'Audited' });
      for (let i = 0; i < 55; i++) await addAgentKey(gw, other, `bulk-${i}`);
      const cookie = await signIn(gw, other.adminToken);
      const first = await (await page(gw, '/console/audit', cookie)).text();
      const rows = (html: string) =>
        [...html.matchAll(/<td data-label="#" class="num">(\d+)<\/td>/g)].map((m) => Number(m[1]));
      const newest = rows(first);
      expect(newest).toHaveLength(50);
      expect(newest).toEqual([...newest].sort((a, b) => b - a));
      const older = /<a href="(\/console\/audit\?cursor=[^"]+)">Older events<\/a>/.exec(first)?.[1];
      expect(older).toBeDefined();
      const second = rows(await (await page(gw, older ?? '', cookie)).text());
      expect(second.length).toBeGreaterThan(0);
      expect(Math.max(...second)).toBeLessThan(Math.min(...newest));

      // Someone edits a row behind the gateway's back: the page says where the chain breaks.
      const victim = await gw.db.reader.get(
        sql('SELECT id FROM audit_events WHERE workspace_id = ? AND seq = 3', (r) => r[0] as string),
        [other.workspaceId],
      );
      await gw.db.transaction({ workspaceId: other.workspaceId }, (tx) =>
        tx.run(sql('UPDATE audit_events SET data = ? WHERE id = ?'), ['{"agentId":"someone-else"}', victim]),
      );
      const broken = await (await page(gw, '/console/audit', cookie)).text();
      expect(broken).toMatch(
        /<p class="bad-text" id="chain-state" role="alert">Broken: the chain fails at event <code>/,
      );
      expect(broken).toContain(`<code>${victim}</code>`);
    });
  });

  describe('overview', () => {
    it('shows the setup checklist from real data, each item linking to its page', async () => {
      const fresh = await createTenant(gw, { name: 'Fresh' });
      const cookie = await signIn(gw, fresh.adminToken);
      const html = await (await page(gw, '/console', cookie)).text();
      expect(html).toMatch(/Setup: \d of 5 done/);
      expect(html).toMatch(/id="setup-key" data-done="yes"/);
      expect(html).toMatch(/id="setup-business" data-done="yes"/);
      expect(html).toMatch(/id="setup-policy" data-done="no"[\s\S]*?href="\/console\/policy"/);
      // What the checklist says of a workspace without a policy is what happens: the execute goes through.
      expect(html).toMatch(
        /id="setup-policy"(?:(?!<\/li>)[\s\S])*requests execute with no limit and no approval/,
      );
      const executed = await call(gw, 'POST', '/agp/execute', {
        key: fresh.agentKey,
        body: { businessId: echo, request: { sku: 'grinder', quantity: 1, amount_cents: 1_000_000 } },
      });
      expect(executed.status).toBe(200);
      expect(executed.body.status).toBe('succeeded');
      expect(html).toMatch(/id="setup-approver" data-done="no"[\s\S]*?href="\/console\/members"/);
      expect(html).toMatch(/id="setup-webhook" data-done="no"[\s\S]*?href="\/console\/webhooks"/);
      // Acme has a policy and an approver.
      const acme = await (await page(gw, '/console', cookies.approver)).text();
      expect(acme).toMatch(/id="setup-policy" data-done="yes"/);
      expect(acme).toMatch(/id="setup-approver" data-done="yes"/);
      // An approver is not sent to pages it cannot open.
      expect(acme).not.toMatch(
        /id="setup-[a-z]+"[^>]*>(?:(?!<\/li>)[\s\S])*href="\/console\/(keys|policy|members|webhooks)"/,
      );
      expect(acme).toContain('(an admin does this)');
    });

    it('shows the analytics of real traffic as charts (computeAnalytics)', async () => {
      const exec = await call(gw, 'POST', '/agp/execute', {
        key: tenant.agentKey,
        body: { businessId: echo, request: { sku: 'sticker', quantity: 1, amount_cents: 1_250 } },
      });
      expect(exec.status).toBe(200);
      const res = await page(gw, '/console?range=24h', cookies.admin);
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).toContain('per hour');
      expect(html).not.toContain('analytics-unavailable');
      expect(html).toMatch(
        /<svg[^>]*role="img"[^>]*aria-labelledby="chart-period-USD-title chart-period-USD-desc"/,
      );
      expect(html).toContain('Spend per hour (USD)');
      // $12.50 here and $1.00 from the webhook test.
      expect(html).toMatch(/<table id="chart-agent-USD-table">[\s\S]*?agent-1<\/td><td class="num">\$13\.50/);
      expect(html).toMatch(/<strong>daily \(day[^)]*\)<\/strong>: \$13\.50 of \$200\.00/);
      expect(html).toContain('Approval, auto-approve and rejection rates');
    });

    it('draws each chart as an SVG with a title, a description and a table behind it', () => {
      const day = 86_400_000;
      const from = Date.UTC(2026, 11, 1);
      const a: Analytics = {
        range: { from, to: from + 3 * day, granularity: 'day', buckets: 3 },
        decisions: {
          decided: 10,
          autoApproved: 6,
          humanApproved: 2,
          policyRejected: 1,
          humanRejected: 1,
          expired: 0,
          pending: 1,
          approvalRate: 0.8,
          autoApproveRate: 0.6,
        },
        rejections: { byRule: [{ ruleId: 'daily', count: 1 }], human: 1 },
        decisionTime: { count: 3, medianMs: 90_000, p90Ms: 7_200_000 },
        spend: {
          total: [{ currency: 'USD', amount: 4_500, count: 8 }],
          byBusiness: [{ key: 'echo', currency: 'USD', amount: 4_500, count: 8 }],
          byCategory: [{ key: 'demo', currency: 'USD', amount: 4_500, count: 8 }],
          byAgent: [
            { key: 'agent-1', currency: 'USD', amount: 4_000, count: 7 },
            { key: 'agent-2', currency: 'USD', amount: 500, count: 1 },
          ],
          byPeriod: [
            { start: from, currency: 'USD', amount: 1_000, count: 2 },
            { start: from + 2 * day, currency: 'USD', amount: 3_500, count: 6 },
          ],
        },
        limits: {
          policy: { name: 'default', version: 2 },
          usage: [
            {
              id: 'daily',
              interval: 'day',
              window: 'calendar',
              currency: 'USD',
              categories: null,
              windowStart: from + 2 * day,
              used: 3_500,
              reserved: 0,
              limit: 10_000,
              share: 0.35,
            },
          ],
        },
        cost: {
          totalMicros: 30_000,
          count: 3,
          byAgent: [{ agentId: 'agent-1', costMicros: 30_000, count: 3 }],
        },
        anomalies: [
          {
            agentId: 'agent-1',
            metric: 'spend',
            currency: 'USD',
            bucketStart: from + 2 * day,
            observed: 3_500,
            baseline: { median: 500, mad: 100, max: 900, threshold: 1_500, window: 14 },
          },
        ],
      };
      const html = String(AnalyticsView({ a }));
      const svgs = html.match(/<svg[^>]*role="img"[^>]*>/g) ?? [];
      expect(svgs.length).toBeGreaterThanOrEqual(5);
      for (const svg of svgs) expect(svg).toMatch(/aria-labelledby="[^"]+-title [^"]+-desc"/);
      expect(html).toContain('<title id="chart-period-USD-title">Spend per day (USD)</title>');
      expect(html).toMatch(
        /<desc id="chart-period-USD-desc">12-01: \$10\.00; 12-02: \$0\.00; 12-03: \$35\.00<\/desc>/,
      );
      expect(html).toContain('<table id="chart-agent-USD-table">');
      expect(html).toMatch(/agent-1<\/td><td class="num">\$40\.00/);
      expect(html).toContain('Approval, auto-approve and rejection rates');
      expect(html).toMatch(/Auto-approved<\/td><td class="num">60 %/);
      expect(html).toMatch(/<dd class="big" id="decision-median">1\.5 min<\/dd>[\s\S]*?2 h<\/dd>/);
      expect(html).toContain('3 priced calls: <strong>0.03 units</strong>');
      expect(html).toContain('<strong>daily (day, calendar)</strong>: $35.00 of $100.00 (35 %)');
      expect(html).toMatch(
        /agent-1<\/td><td data-label="What">spend \(USD\)[\s\S]*?\$35\.00[\s\S]*?\$5\.00[\s\S]*?\$15\.00/,
      );
    });
  });
});
