import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../../gateway/db/types.ts';
import { deliverDue } from '../../gateway/services/notifications/index.ts';
import { open, signIn } from '../console/support.ts';
import { type Receiver, startReceiver } from '../e2e/support.ts';
import { DIALECTS } from '../support/dialects.ts';
import { call, createTenant, startTestGateway, type Tenant, type TestGateway } from '../support/harness.ts';
import { type GitStandIn, startGitHub, startGitLab } from './git-stand-ins.ts';

/**
 * Issue 23, item 3: policy as code. GitHub and GitLab stand-ins serve the policy file at each commit;
 * the tests send push webhooks signed as each provider signs them.
 */

const GITHUB_TOKEN = 'ghp_testtoken0123456789';
const GITLAB_TOKEN = 'glpat-testtoken0123456789';
const PATH = 'policies/default.json';
const SHA1 = 'a1'.repeat(20);
const SHA2 = 'b2'.repeat(20);
const SHA3 = 'c3'.repeat(20);
const SHA4 = 'd4'.repeat(20);

const allowAll = { default_action: 'auto_approve' };
const askFirst = {
  default_action: 'auto_approve',
  rules: [
    {
      id: 'big-orders',
      priority: 1,
      conditions: [{ context: 'amount', op: 'gte', value: 10_000 }],
      action: 'reject',
      reason: 'Too big',
    },
  ],
};

const githubPush = (
  sha: string,
  files: { modified?: string[]; added?: string[] },
  ref = 'refs/heads/main',
) => ({
  ref,
  before: '0'.repeat(40),
  after: sha,
  repository: { full_name: 'acme/policies' },
  commits: [
    {
      id: sha,
      message: 'Tighten the policy',
      author: { name: 'Pat Coder', email: 'pat@acme.test', username: 'pat' },
      added: files.added ?? [],
      modified: files.modified ?? [],
      removed: [],
    },
  ],
  head_commit: { id: sha },
});

describe.each(DIALECTS)('policy as code (%s)', (dialect) => {
  let gw: TestGateway;
  let github: GitStandIn;
  let gitlab: GitStandIn;
  let receiver: Receiver;
  let tenant: Tenant;
  let hook: { id: string; webhookUrl: string; webhookSecret: string };

  beforeAll(async () => {
    github = await startGitHub('acme/policies', GITHUB_TOKEN);
    gitlab = await startGitLab('acme/policies', GITLAB_TOKEN);
    receiver = await startReceiver([200]);
    gw = await startTestGateway({
      dialect,
      env: { GITHUB_API_URL: github.apiUrl, GITLAB_API_URL: gitlab.apiUrl },
    });
    tenant = await createTenant(gw);
    const sub = await call(gw, 'POST', '/v1/webhooks', {
      key: tenant.adminToken,
      body: { url: receiver.url, events: ['policy.sync_failed'] },
    });
    expect(sub.status).toBe(201);
    const res = await call(gw, 'PUT', '/v1/policies/default/source', {
      key: tenant.adminToken,
      body: {
        provider: 'github',
        repository: 'acme/policies',
        path: PATH,
        branch: 'main',
        token: GITHUB_TOKEN,
      },
    });
    expect(res.status).toBe(200);
    hook = res.body as typeof hook;
    expect(hook.webhookUrl).toBe(`http://localhost:8080/v1/git/push/${hook.id}`);
    expect(JSON.stringify(res.body)).not.toContain(GITHUB_TOKEN);
  });
  afterAll(async () => {
    await gw.dispose();
    await github.close();
    await gitlab.close();
    await receiver.close();
  });

  const deliver = () => deliverDue(gw.deps, gw.notify.senders, { batch: 100 });
  const signed = (secret: string, body: string) =>
    `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
  const pushGitHub = (payload: unknown, secret = hook.webhookSecret, event = 'push') => {
    const rawBody = JSON.stringify(payload);
    return call(gw, 'POST', `/v1/git/push/${hook.id}`, {
      rawBody,
      headers: {
        'content-type': 'application/json',
        'x-github-event': event,
        'x-hub-signature-256': signed(secret, rawBody),
      },
    });
  };
  const versions = async (name = 'default') => {
    const res = await call(gw, 'GET', `/v1/policies/${name}/versions`, { key: tenant.adminToken });
    return res.status === 404
      ? []
      : (res.body.versions as { version: number; commit: unknown; createdBy: string }[]);
  };
  const source = async (name = 'default') =>
    (await call(gw, 'GET', `/v1/policies/${name}/source`, { key: tenant.adminToken })).body;

  it('refuses a push signed with the wrong secret (or none), and changes nothing', async () => {
    github.files.set(`${SHA1}:${PATH}`, JSON.stringify(allowAll));
    const wrong = await pushGitHub(githubPush(SHA1, { modified: [PATH] }), 'whsec_not-the-secret');
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe('UNAUTHORIZED');
    const unsigned = await call(gw, 'POST', `/v1/git/push/${hook.id}`, {
      rawBody: JSON.stringify(githubPush(SHA1, { modified: [PATH] })),
      headers: { 'content-type': 'application/json', 'x-github-event': 'push' },
    });
    expect(unsigned.status).toBe(401);
    const valid = await pushGitHub(githubPush(SHA1, { modified: [PATH] }));
    expect(valid.status).toBe(202);
    // (the valid one above is the next test's starting point; the refused ones queued nothing)
    const queued = await gw.db.reader.all(
      sql("SELECT COUNT(*) FROM outbox WHERE kind = 'policy_sync'", (r) => Number(r[0])),
    );
    expect(queued[0]).toBe(1);
    expect(await versions()).toEqual([]);
  });

  it('a valid push stores the file at the pushed commit as a version with its commit id and author', async () => {
    await deliver();
    const read = github.requests.filter((r) => r.path.includes('/contents/'));
    expect(read.at(-1)?.path).toBe(`/api/v3/repos/acme/policies/contents/${PATH}`);
    expect(read.at(-1)?.query.get('ref')).toBe(SHA1);
    expect(read.at(-1)?.headers.authorization).toBe(`Bearer ${GITHUB_TOKEN}`);
    const stored = await versions();
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({
      version: 1,
      commit: { id: SHA1, author: 'Pat Coder <pat@acme.test>' },
      createdBy: 'git:github',
    });
    expect(await source()).toMatchObject({ lastCommit: SHA1, lastStatus: 'synced', lastError: null });
    expect(github.statuses).toMatchObject([
      { sha: SHA1, body: { state: 'success', context: 'warden/policy' } },
    ]);
    // What the version holds is what the commit held.
    const current = await call(gw, 'GET', '/v1/policies/default', { key: tenant.adminToken });
    expect(current.body.document).toEqual(allowAll);
  });

  it('ignores pushes to another branch, pushes that do not touch the file, and pings', async () => {
    const other = await pushGitHub(githubPush(SHA2, { modified: [PATH] }, 'refs/heads/feature'));
    expect(other.body).toMatchObject({ outcome: 'ignored' });
    const elsewhere = await pushGitHub(githubPush(SHA2, { modified: ['README.md'] }));
    expect(elsewhere.body).toMatchObject({ outcome: 'ignored' });
    const ping = await pushGitHub({ zen: 'Keep it logically awesome.' }, hook.webhookSecret, 'ping');
    expect(ping.status).toBe(200);
    await deliver();
    expect(await versions()).toHaveLength(1);
  });

  it('an invalid file changes nothing and is reported: on the link, to webhooks, as a failed commit status, in the console', async () => {
    github.files.set(`${SHA2}:${PATH}`, JSON.stringify({ default_action: 'maybe', surprise: true }));
    expect((await pushGitHub(githubPush(SHA2, { modified: [PATH] }))).status).toBe(202);
    await deliver();
    expect(await versions()).toHaveLength(1);
    const current = await call(gw, 'GET', '/v1/policies/default', { key: tenant.adminToken });
    expect(current.body).toMatchObject({ version: 1, document: allowAll });
    const link = await source();
    expect(link).toMatchObject({ lastCommit: SHA1, lastStatus: 'invalid' });
    expect(String(link.lastError)).toContain('not a valid policy');
    expect(github.statuses.at(-1)).toMatchObject({ sha: SHA2, body: { state: 'failure' } });
    // The webhook event (delivered by the same outbox round's next pass).
    await deliver();
    const event = receiver.received
      .map((r) => JSON.parse(r.body))
      .find((e) => e.type === 'policy.sync_failed');
    expect(event?.data).toMatchObject({ policy: 'default', commit: SHA2, path: PATH });
    expect(event?.data.issues.length).toBeGreaterThan(0);
    const cookie = await signIn(gw, tenant.adminToken);
    const { html } = await open(gw, '/console/policy', cookie);
    expect(html).toContain('not a valid policy');
    expect(html).toContain(SHA2.slice(0, 12));
  });

  it('a GitHub outage is retried and never blocks a policy change made by hand', async () => {
    github.files.set(`${SHA3}:${PATH}`, JSON.stringify(askFirst));
    github.failWith = 503;
    expect((await pushGitHub(githubPush(SHA3, { modified: [PATH] }))).status).toBe(202);
    const round = await deliver();
    expect(round.retrying).toBe(1);
    expect(await source()).toMatchObject({ lastStatus: 'error' });
    // Meanwhile an admin still changes the policy directly.
    const put = await call(gw, 'PUT', '/v1/policies/default', {
      key: tenant.adminToken,
      body: { default_action: 'reject' },
    });
    expect(put.status).toBe(201);
    github.failWith = null;
    gw.now.advance(5_000);
    await deliver();
    const stored = await versions();
    expect(stored[0]).toMatchObject({ version: 3, commit: { id: SHA3 } });
    expect(await source()).toMatchObject({ lastCommit: SHA3, lastStatus: 'synced' });
  });

  it('manual sync reads the head of the branch (admins only)', async () => {
    github.heads.set('main', { id: SHA4, name: 'Sam Merger', email: 'sam@acme.test' });
    github.files.set(`${SHA4}:${PATH}`, JSON.stringify({ ...askFirst, default_action: 'reject' }));
    const approver = await call(gw, 'POST', '/v1/members', {
      key: tenant.adminToken,
      body: { email: 'appr@acme.test', role: 'approver' },
    });
    const refused = await call(gw, 'POST', '/v1/policies/default/sync', {
      key: approver.body.token as string,
    });
    expect(refused.status).toBe(403);
    const res = await call(gw, 'POST', '/v1/policies/default/sync', { key: tenant.adminToken });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'synced', commit: SHA4, version: 4, created: true });
    expect((await versions())[0]).toMatchObject({
      commit: { id: SHA4, author: 'Sam Merger <sam@acme.test>' },
    });
    github.failWith = 502;
    const down = await call(gw, 'POST', '/v1/policies/default/sync', { key: tenant.adminToken });
    expect(down.status).toBe(502);
    expect(down.body.code).toBe('PROVIDER_ERROR');
    github.failWith = null;
    expect(await versions()).toHaveLength(4);
  });

  it('GitLab: X-Gitlab-Token checked; a valid push stores the commit; the token goes as PRIVATE-TOKEN', async () => {
    const link = await call(gw, 'PUT', '/v1/policies/shop/source', {
      key: tenant.adminToken,
      body: {
        provider: 'gitlab',
        repository: 'acme/policies',
        path: 'policies/shop.json',
        token: GITLAB_TOKEN,
      },
    });
    expect(link.status).toBe(200);
    const { id, webhookSecret } = link.body as { id: string; webhookSecret: string };
    gitlab.files.set(`${SHA1}:policies/shop.json`, JSON.stringify(askFirst));
    const push = {
      object_kind: 'push',
      ref: 'refs/heads/main',
      before: '0'.repeat(40),
      after: SHA1,
      checkout_sha: SHA1,
      project: { id: 42, path_with_namespace: 'acme/policies' },
      commits: [
        {
          id: SHA1,
          message: 'Shop policy',
          author: { name: 'Lee Lab', email: 'lee@acme.test' },
          added: ['policies/shop.json'],
          modified: [],
          removed: [],
        },
      ],
    };
    const send = (token: string) =>
      call(gw, 'POST', `/v1/git/push/${id}`, {
        rawBody: JSON.stringify(push),
        headers: {
          'content-type': 'application/json',
          'x-gitlab-event': 'Push Hook',
          'x-gitlab-token': token,
        },
      });
    expect((await send('not-the-token')).status).toBe(401);
    expect(await versions('shop')).toEqual([]);
    expect((await send(webhookSecret)).status).toBe(202);
    await deliver();
    const read = gitlab.requests.find((r) => r.path.endsWith('/raw'));
    expect(read?.rawPath).toBe('/api/v4/projects/acme%2Fpolicies/repository/files/policies%2Fshop.json/raw');
    expect(read?.headers['private-token']).toBe(GITLAB_TOKEN);
    expect(await versions('shop')).toMatchObject([
      { version: 1, commit: { id: SHA1, author: 'Lee Lab <lee@acme.test>' }, createdBy: 'git:gitlab' },
    ]);
    const sealed = await gw.db.reader.all(
      sql('SELECT token, webhook_secret FROM policy_sources', (r) => `${r[0]} ${r[1]}`),
    );
    expect(sealed.join()).not.toContain(GITLAB_TOKEN);
    expect(sealed.join()).not.toContain(webhookSecret);
  });
});
