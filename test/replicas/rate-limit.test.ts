import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshPostgresSchema, type TestDatabase } from '../support/dialects.ts';
import {
  addAgentKey,
  createTenant,
  registerEcho,
  startTestGateway,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';
import { type Replica, send, startReplica } from './replicas.ts';

// RATE_LIMIT_PER_MINUTE is counted in the database, so two replicas share one budget per key.
describe('a rate limit shared by two replicas on PostgreSQL', () => {
  let db: TestDatabase;
  let replicas: Replica[] = [];
  let admin: TestGateway;
  let tenant: Tenant;

  beforeAll(async () => {
    db = await freshPostgresSchema();
    replicas = await Promise.all([
      startReplica(db.url, { RATE_LIMIT_PER_MINUTE: '10' }),
      startReplica(db.url, { RATE_LIMIT_PER_MINUTE: '10' }),
    ]);
    admin = await startTestGateway({ databaseUrl: db.url, realClock: true });
    tenant = await createTenant(admin);
    await registerEcho(admin);
  });
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await admin?.dispose();
    await db?.drop();
  });

  /** Starts a burst well inside one minute, so all of it is counted in the same window. */
  const awayFromMinuteEnd = async () => {
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 55_000) await new Promise((resolve) => setTimeout(resolve, 60_000 - intoMinute + 50));
  };

  it('limit 10, 15 requests split over both replicas: exactly 10 pass, 5 are 429 with Retry-After', async () => {
    // 8 go to one replica and 7 to the other: counted apart, all 15 would pass.
    await awayFromMinuteEnd();
    const results = await Promise.all(
      Array.from({ length: 15 }, (_, i) =>
        send((replicas[i % 2] as Replica).url, 'POST', '/agp/discover', {
          key: tenant.agentKey,
          body: { businessId: 'echo' },
        }),
      ),
    );
    // Every status and any unexpected body, so a failure shows what the others were.
    const unexpected = results
      .filter((r) => r.status !== 200 && r.status !== 429)
      .map((r) => ({
        body: r.body,
        // The replica's own log lines for that request: a 500 logs its error there.
        log: replicas.flatMap((replica) =>
          replica.output.filter((line) => line.includes(String(r.body.requestId ?? '-'))),
        ),
      }));
    expect(results.map((r) => r.status).sort(), JSON.stringify(unexpected)).toEqual([
      ...Array(10).fill(200),
      ...Array(5).fill(429),
    ]);
    const limited = results.filter((r) => r.status === 429);
    expect(limited).toHaveLength(5);
    for (const r of limited) {
      expect(r.body).toMatchObject({ code: 'RATE_LIMITED', requestId: expect.any(String) });
      const retryAfter = Number(r.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
    }
  });

  it('another key on the same replicas has its own budget', async () => {
    await awayFromMinuteEnd();
    const other = await addAgentKey(admin, tenant, 'rate-other');
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        send((replicas[i % 2] as Replica).url, 'GET', '/agp/businesses', { key: other }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([...Array(10).fill(200), 429, 429]);
  });
});
