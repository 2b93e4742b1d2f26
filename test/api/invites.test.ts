import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../../gateway/db/types.ts';
import { hashSecret } from '../../gateway/secrets.ts';
import { INVITE_TTL_MS } from '../../gateway/services/tenancy/invites.ts';
import { type Mail, type SmtpCapture, startSmtp } from '../e2e/support.ts';
import { DIALECTS } from '../support/dialects.ts';
import {
  ADMIN_TOKEN,
  call,
  createTenant,
  startTestGateway,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';
import { expectError } from './envelope.ts';

/**
 * Issue 11: an admin invites by email; the link in a real email (smtp-server on port 0) gives the
 * person their member token, once, within 24 hours.
 */

const BASE = 'https://warden.example.com';
const LINK = /https:\/\/warden\.example\.com\/invite\/(wi_[A-Za-z0-9_-]{43})/;

function linkIn(mail: Mail): { url: string; token: string } {
  const found = LINK.exec(mail.text);
  if (!found?.[1]) throw new Error(`no invite link in: ${mail.text}`);
  return { url: found[0], token: found[1] };
}

describe.each(DIALECTS)('invites on %s', (dialect) => {
  let smtp: SmtpCapture;
  let gw: TestGateway;
  let tenant: Tenant;
  let n = 0;

  beforeAll(async () => {
    smtp = await startSmtp();
    gw = await startTestGateway({ dialect, env: { SMTP_URL: smtp.url, PUBLIC_BASE_URL: BASE } });
    tenant = await createTenant(gw, { name: 'Acme Ops' });
  }, 60_000);
  afterAll(async () => {
    await gw.dispose();
    await smtp.close();
  });

  /** Invites a fresh address and answers the link from the email it got. */
  const invite = async (role: 'admin' | 'developer' | 'approver' = 'developer', by = tenant.adminToken) => {
    const email = `person-${++n}@acme.test`;
    const after = smtp.messages.length;
    const res = await call(gw, 'POST', '/v1/invites', { key: by, body: { email, role } });
    expect(res.status).toBe(201);
    const mail = await smtp.next(email, { after });
    return { email, res, mail, ...linkIn(mail) };
  };
  const accept = (token: string) => call(gw, 'POST', `/invite/${token}/accept`);

  it('invite → email with the link → accept → the token works, with the invited role', async () => {
    const { email, res, mail, token, url } = await invite('approver');
    const body = res.body.invite as Record<string, unknown>;
    expect(body).toMatchObject({ email, role: 'approver', acceptedAt: null });
    expect(body.id).toMatch(/^inv_/);
    expect(Date.parse(body.expiresAt as string) - Date.parse(body.createdAt as string)).toBe(INVITE_TTL_MS);
    // The answer never carries the link token; the email does, and names the workspace.
    expect(JSON.stringify(res.body)).not.toContain(token);
    expect(mail.subject).toContain('Acme Ops');
    expect(mail.text).toContain(url);

    // Only the hash is stored.
    const stored = await gw.db.reader.get(
      sql('SELECT token_hash FROM invites WHERE id = ?', (r) => r[0] as string),
      [body.id],
    );
    expect(stored).toBe(hashSecret(token));

    const shown = await call(gw, 'GET', `/invite/${token}`);
    expect(shown.status).toBe(200);
    expect(shown.body).toEqual({
      invite: { workspace: { name: 'Acme Ops' }, email, role: 'approver', expiresAt: body.expiresAt },
      accept: { method: 'POST', url: `${url}/accept` },
    });

    const accepted = await accept(token);
    expect(accepted.status).toBe(201);
    expect(Object.keys(accepted.body).sort()).toEqual(['member', 'token']);
    expect(accepted.body.member).toMatchObject({ email, role: 'approver' });
    const memberToken = accepted.body.token as string;
    const members = await call(gw, 'GET', '/v1/members', { key: memberToken });
    expect(members.status).toBe(200);
    expect((members.body.members as { email: string }[]).map((m) => m.email)).toContain(email);
    // An approver, not an admin.
    expectError(await call(gw, 'GET', '/v1/audit', { key: memberToken }), 403, 'FORBIDDEN');
  });

  it('lists open invitations and withdraws one: its link is then 410 INVITE_EXPIRED', async () => {
    const { email, token, res } = await invite('approver');
    const id = (res.body.invite as { id: string }).id;
    const open = await call(gw, 'GET', '/v1/invites', { key: tenant.adminToken });
    expect(open.status).toBe(200);
    expect(open.body.invites).toContainEqual(
      expect.objectContaining({ id, email, role: 'approver', acceptedAt: null }),
    );
    const withdrawn = await call(gw, 'DELETE', `/v1/invites/${id}`, { key: tenant.adminToken });
    expect(withdrawn.status).toBe(204);
    expectError(await call(gw, 'GET', `/invite/${token}`), 410, 'INVITE_EXPIRED');
    expectError(await accept(token), 410, 'INVITE_EXPIRED');
    const later = await call(gw, 'GET', '/v1/invites', { key: tenant.adminToken });
    expect((later.body.invites as { id: string }[]).map((i) => i.id)).not.toContain(id);
    // Once withdrawn (or accepted, or in another workspace) there is nothing to withdraw.
    expectError(await call(gw, 'DELETE', `/v1/invites/${id}`, { key: tenant.adminToken }), 404, 'NOT_FOUND');
    const other = await createTenant(gw, { name: 'Elsewhere' });
    const { res: mine } = await invite();
    const mineId = (mine.body.invite as { id: string }).id;
    expectError(
      await call(gw, 'DELETE', `/v1/invites/${mineId}`, { key: other.adminToken }),
      404,
      'NOT_FOUND',
    );
  });

  it('a link works once: a second accept is 410 INVITE_USED, and showing it too', async () => {
    const { token } = await invite();
    expect((await accept(token)).status).toBe(201);
    expectError(await accept(token), 410, 'INVITE_USED', /already accepted/);
    expectError(await call(gw, 'GET', `/invite/${token}`), 410, 'INVITE_USED');
  });

  it('20 concurrent accepts of one link make exactly one member', async () => {
    const { email, token } = await invite();
    const answers = await Promise.all(Array.from({ length: 20 }, () => accept(token)));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    for (const a of answers.filter((x) => x.status !== 201)) expectError(a, 410, 'INVITE_USED');
    const count = await gw.db.reader.get(
      sql('SELECT count(*) FROM members WHERE workspace_id = ? AND email = ?', (r) => Number(r[0])),
      [tenant.workspaceId, email],
    );
    expect(count).toBe(1);
  });

  it('an expired link (after 24 hours) is 410 INVITE_EXPIRED and makes no member', async () => {
    const { email, token } = await invite();
    gw.now.advance(INVITE_TTL_MS);
    expectError(await call(gw, 'GET', `/invite/${token}`), 410, 'INVITE_EXPIRED', /expired/);
    expectError(await accept(token), 410, 'INVITE_EXPIRED');
    const list = await call(gw, 'GET', '/v1/members', { key: tenant.adminToken });
    expect((list.body.members as { email: string }[]).map((m) => m.email)).not.toContain(email);
  });

  it('unknown and malformed links are 404; only admins invite; a member already there is 409', async () => {
    expectError(await accept(`wi_${'A'.repeat(43)}`), 404, 'NOT_FOUND');
    expectError(await accept('nonsense'), 404, 'NOT_FOUND');
    expectError(await call(gw, 'GET', `/invite/wi_${'B'.repeat(43)}`), 404, 'NOT_FOUND');

    const dev = await call(gw, 'POST', '/v1/members', {
      key: tenant.adminToken,
      body: { email: 'dev@acme.test', role: 'developer' },
    });
    expectError(
      await call(gw, 'POST', '/v1/invites', {
        key: dev.body.token as string,
        body: { email: 'x@acme.test', role: 'admin' },
      }),
      403,
      'FORBIDDEN',
    );
    expectError(
      await call(gw, 'POST', '/v1/invites', {
        key: tenant.adminToken,
        body: { email: 'DEV@acme.test', role: 'admin' },
      }),
      409,
      'CONFLICT',
    );
    expectError(
      await call(gw, 'POST', '/v1/invites', {
        key: tenant.adminToken,
        body: { email: 'nope', role: 'admin' },
      }),
      400,
      'VALIDATION_ERROR',
    );
    expectError(await call(gw, 'POST', '/v1/invites', { key: ADMIN_TOKEN, body: {} }), 401, 'UNAUTHORIZED');
  });

  it('a link whose email became a member meanwhile is 409 and stays unused', async () => {
    const { email, token } = await invite();
    expect(
      (await call(gw, 'POST', '/v1/members', { key: tenant.adminToken, body: { email, role: 'approver' } }))
        .status,
    ).toBe(201);
    expectError(await accept(token), 409, 'CONFLICT');
    const used = await gw.db.reader.get(
      sql('SELECT accepted_at FROM invites WHERE token_hash = ?', (r) => r[0]),
      [hashSecret(token)],
    );
    expect(used).toBeNull();
  });

  it("an archived workspace's invitations cannot be accepted (403 WORKSPACE_ARCHIVED)", async () => {
    const sleepy = await createTenant(gw, { name: 'Sleepy' });
    const { token } = await invite('developer', sleepy.adminToken);
    expect(
      (await call(gw, 'POST', `/v1/admin/workspaces/${sleepy.workspaceId}/archive`, { key: ADMIN_TOKEN }))
        .status,
    ).toBe(200);
    expectError(await accept(token), 403, 'WORKSPACE_ARCHIVED');
    expectError(await call(gw, 'GET', `/invite/${token}`), 403, 'WORKSPACE_ARCHIVED');
    expect(
      (await call(gw, 'POST', `/v1/admin/workspaces/${sleepy.workspaceId}/restore`, { key: ADMIN_TOKEN }))
        .status,
    ).toBe(200);
    expect((await accept(token)).status).toBe(201);
  });

  it('every invitation and acceptance is in /v1/audit; the chain verifies', async () => {
    const audit = await call(gw, 'GET', '/v1/audit?limit=200', { key: tenant.adminToken });
    const events = audit.body.events as { action: string; data: Record<string, unknown> }[];
    const actions = events.map((e) => e.action);
    expect(actions).toContain('invite.created');
    expect(actions).toContain('invite.accepted');
    expect(events.find((e) => e.action === 'member.created' && e.data.via === 'invite')).toBeTruthy();
    // Exactly one acceptance per link, the 20-way race included.
    const accepted = events.filter((e) => e.action === 'invite.accepted').map((e) => e.data.memberId);
    expect(new Set(accepted).size).toBe(accepted.length);
    const verify = await call(gw, 'GET', '/v1/audit/verify', { key: tenant.adminToken });
    expect(verify.body).toMatchObject({ valid: true, firstBrokenId: null });
  });
});
