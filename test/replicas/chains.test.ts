import { compactVerify, createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../../gateway/db/types.ts';
import { rebuildLog } from '../ledger/support.ts';
import { freshPostgresSchema, type TestDatabase } from '../support/dialects.ts';
import {
  createTenant,
  registerHttpBusiness,
  startTestGateway,
  startUpstream,
  type Tenant,
  type TestGateway,
  type Upstream,
} from '../support/harness.ts';
import { until } from '../support/until.ts';
import { type Replica, send, startReplica } from './replicas.ts';

// Issue 10: two gateway processes writing audit events and receipts of the same workspaces at the
// same time, on one PostgreSQL database: each workspace's audit chain stays single and unbroken, and
// (issue 20) each workspace has one ledger log, both replicas sequencing it.
describe('hash chains across two replicas on PostgreSQL', () => {
  let db: TestDatabase;
  let upstream: Upstream;
  let replicas: Replica[] = [];
  let admin: TestGateway;
  let tenants: Tenant[] = [];
  let shop: string;

  beforeAll(async () => {
    db = await freshPostgresSchema();
    upstream = await startUpstream();
    admin = await startTestGateway({ databaseUrl: db.url, realClock: true });
    tenants = [await createTenant(admin, { name: 'One' }), await createTenant(admin, { name: 'Two' })];
    shop = (await registerHttpBusiness(admin, upstream.url)).id;
    const fast = { LEDGER_SEQUENCE_MS: '200' };
    replicas = await Promise.all([startReplica(db.url, fast), startReplica(db.url, fast)]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await admin?.dispose();
    await upstream?.close();
    await db?.drop();
  });

  const on = (i: number) => (replicas[i % 2] as Replica).url;
  const waiting = (workspaceId: string) =>
    admin.db.reader.get(
      sql('SELECT count(*) FROM ledger_queue WHERE workspace_id = ?', (r) => Number(r[0])),
      [workspaceId],
    );

  it('200 concurrent audited changes: one unbroken chain per workspace', async () => {
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => {
        const tenant = tenants[i % 2] as Tenant;
        // Keys and members, half on each replica, both workspaces interleaved.
        return i % 3 === 0
          ? send(on(i >> 1), 'POST', '/v1/members', {
              key: tenant.adminToken,
              body: { email: `m${i}@chain.test`, role: 'approver' },
            })
          : send(on(i >> 1), 'POST', '/v1/keys', { key: tenant.adminToken, body: { agentId: `agent-${i}` } });
      }),
    );
    expect(results.map((r) => r.status).filter((s) => s !== 201)).toEqual([]);
    for (const tenant of tenants) {
      const verdict = await send(on(0), 'GET', '/v1/audit/verify', { key: tenant.adminToken });
      expect(verdict.body).toMatchObject({ valid: true, firstBrokenId: null });
      // workspace created + admin key from createTenant, then its 100 changes.
      expect(verdict.body.checked).toBe(102);
      const seqs = await admin.db.reader.all(
        sql('SELECT seq FROM audit_events WHERE workspace_id = ? ORDER BY seq', (r) => Number(r[0])),
        [tenant.workspaceId],
      );
      expect(seqs).toEqual(Array.from({ length: 102 }, (_, i) => i + 1));
    }
  }, 60_000);

  it('100 concurrent executes: one ledger log, no duplicate, no gap, the root matches; one current key', async () => {
    const tenant = tenants[0] as Tenant;
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        send(on(i), 'POST', '/agp/execute', {
          key: tenant.agentKey,
          body: { businessId: shop, request: { sku: `s${i}`, amount_cents: 1 } },
        }),
      ),
    );
    expect(answers.map((a) => a.status).filter((s) => s !== 200)).toEqual([]);
    // Both replicas sequence (LEDGER_SEQUENCE_MS=200): wait until nothing of the workspace waits.
    await until(async () => (await waiting(tenant.workspaceId)) === 0, 10_000);
    const jwks = createLocalJWKSet(
      (await send(on(1), 'GET', '/.well-known/warden-keys')).body as unknown as JSONWebKeySet,
    );
    const log = await rebuildLog((path) => send(on(0), 'GET', path, { key: tenant.adminToken }), jwks);
    const receipts = log.entries.flatMap((e) => (e.kind === 'receipt' ? [e.jws] : []));
    expect(receipts.length).toBe(100);
    expect(new Set(receipts).size).toBe(100);
    // Each answer's receipt is in the log, and every receipt was signed by the same current key.
    expect([...receipts].sort()).toEqual(answers.map((a) => a.body.receipt as string).sort());
    const kids = new Set<string | undefined>();
    for (const jws of receipts) {
      await compactVerify(jws, jwks);
      kids.add(decodeProtectedHeader(jws).kid);
    }
    expect(kids.size).toBe(1);
  }, 60_000);
});
