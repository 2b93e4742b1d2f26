import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../../gateway/db/types.ts';
import { hashSecret } from '../../gateway/secrets.ts';
import { type SmtpCapture, startSmtp } from '../e2e/support.ts';
import { createTenant, startTestGateway, type Tenant, type TestGateway } from '../support/harness.ts';
import { cookieOf, form, open, page, signIn, signInLinks } from './support.ts';

/** The console's session store on PostgreSQL (DESIGN §8: one store contract, both dialects). */
describe('console sessions on PostgreSQL', () => {
  let gw: TestGateway;
  let smtp: SmtpCapture;
  let tenant: Tenant;

  beforeAll(async () => {
    smtp = await startSmtp();
    gw = await startTestGateway({ dialect: 'postgres', env: { SMTP_URL: smtp.url } });
    tenant = await createTenant(gw, { name: 'Pg Works' });
  });
  afterAll(async () => {
    await gw?.dispose();
    await smtp?.close();
  });

  it('signs in by token and by link (once), expires when idle, signs out everywhere', async () => {
    const byToken = await signIn(gw, tenant.adminToken);
    expect((await page(gw, '/console', byToken)).status).toBe(200);
    // Touched (more than a minute later), and the filters' SQL on this dialect.
    gw.now.advance(2 * 60_000);
    expect((await page(gw, '/console/transactions?min=1&max=100&status=succeeded', byToken)).status).toBe(
      200,
    );
    const seen = await gw.db.reader.all(
      sql('SELECT last_seen_at FROM console_sessions WHERE token_hash = ?'),
      [hashSecret(byToken)],
    );
    expect(Number(seen[0]?.[0])).toBe(gw.now.value);

    const email = (
      await gw.db.reader.all(sql('SELECT email FROM members WHERE workspace_id = ?'), [tenant.workspaceId])
    )[0]?.[0] as string;
    await form(gw, '/console/sign-in/email', { email });
    const path = new URL(signInLinks((await smtp.next(email)).text)[0] ?? '').pathname;
    const used = await form(gw, path, {});
    expect(used.status).toBe(303);
    const byLink = cookieOf(used) ?? '';
    expect((await form(gw, path, {})).status).toBe(410);

    const rows = await gw.db.reader.all(sql('SELECT token_hash FROM console_sessions'));
    expect(rows.map((r) => r[0]).sort()).toEqual([hashSecret(byToken), hashSecret(byLink)].sort());

    gw.now.advance(31 * 60_000);
    expect((await page(gw, '/console', byToken)).status).toBe(303);

    const fresh = await signIn(gw, tenant.adminToken);
    const { csrf } = await open(gw, '/console', fresh);
    expect((await form(gw, '/console/sign-out-everywhere', { csrf }, { cookie: fresh })).status).toBe(303);
    expect((await page(gw, '/console', fresh)).status).toBe(303);
    expect(await gw.db.reader.all(sql('SELECT token_hash FROM console_sessions'))).toEqual([]);
  });
});
