import { createHash } from 'node:crypto';
import { compactVerify, createRemoteJWKSet, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../../gateway/db/types.ts';
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
import { type Replica, send, startReplica } from './replicas.ts';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

// Issue 10: two gateway processes writing audit events and receipts of the same workspaces at the
// same time, on one PostgreSQL database: each workspace's chains stay single and unbroken.
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
    replicas = await Promise.all([startReplica(db.url), startReplica(db.url)]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await admin?.dispose();
    await upstream?.close();
    await db?.drop();
  });

  const on = (i: number) => (replicas[i % 2] as Replica).url;

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

  it('100 concurrent executes: one receipt chain, every receipt signed by the same current key', async () => {
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
    const chain = await admin.db.reader.all(
      sql('SELECT seq, jws FROM receipts WHERE workspace_id = ? ORDER BY seq', (r) => ({
        seq: Number(r[0]),
        jws: r[1] as string,
      })),
      [tenant.workspaceId],
    );
    expect(chain.map((r) => r.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    const jwks = createRemoteJWKSet(new URL(`${on(1)}/.well-known/warden-keys`));
    const kids = new Set<string | undefined>();
    let prev: string | null = null;
    for (const { jws } of chain) {
      const { payload } = await compactVerify(jws, jwks);
      expect(JSON.parse(new TextDecoder().decode(payload)).prev).toBe(prev);
      prev = sha256(jws);
      kids.add(decodeProtectedHeader(jws).kid);
    }
    expect(kids.size).toBe(1);
    // Each answer's receipt is the one in the chain for its transaction.
    const stored = new Set(chain.map((r) => r.jws));
    for (const answer of answers) expect(stored.has(answer.body.receipt as string)).toBe(true);
  }, 60_000);
});
