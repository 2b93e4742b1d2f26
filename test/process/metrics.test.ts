import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExposition, sampleValue } from '../metrics/exposition.ts';
import { ADMIN_TOKEN, tempDatabaseUrl } from '../support/harness.ts';
import { cleanEnv, type Running, runNode } from './spawn.ts';

/** The real process (`npm start`): ready once its workers run, and scraped as Prometheus would. */
describe('warden process: /ready and /metrics', () => {
  const METRICS_TOKEN = 'process-metrics-token-0123456789';
  let db: { url: string; cleanup: () => void };
  let gateway: Running;
  let base = '';
  let agentKey = '';

  beforeAll(async () => {
    db = tempDatabaseUrl();
    gateway = runNode(
      'gateway/main.ts',
      [],
      cleanEnv({
        NODE_ENV: 'development',
        HOST: '127.0.0.1',
        PORT: '0',
        LOG_LEVEL: 'info',
        DATABASE_URL: db.url,
        WARDEN_ADMIN_TOKEN: ADMIN_TOKEN,
        METRICS_TOKEN,
      }),
    );
    const port = (
      await gateway.waitFor(/"msg":"listening"[^\n]*"port":(\d+)|"port":(\d+)[^\n]*"msg":"listening"/)
    )
      .slice(1)
      .find(Boolean);
    base = `http://127.0.0.1:${port}`;
    agentKey = (await gateway.waitFor(/agent key\s+(\S+)/))[1] ?? '';
  });
  afterAll(async () => {
    gateway?.kill();
    await gateway?.exited;
    db?.cleanup();
  });

  it('is ready: database, migrations, outbox worker and deadline job', async () => {
    const res = await fetch(`${base}/ready`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready', database: 'sqlite' });
  });

  it('counts an execute, its decision, its adapter call and its group commits', async () => {
    const execute = await fetch(`${base}/agp/execute`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${agentKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ businessId: 'echo', request: { sku: 'coffee', quantity: 1, amount_cents: 90 } }),
    });
    expect(execute.status).toBe(200);

    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    const res = await fetch(`${base}/metrics`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
    const samples = parseExposition(await res.text());
    expect(
      sampleValue(samples, 'warden_http_requests_total', {
        method: 'POST',
        route: '/agp/execute',
        status: '200',
      }),
    ).toBe(1);
    expect(
      sampleValue(samples, 'warden_http_requests_total', { method: 'GET', route: '/metrics', status: '401' }),
    ).toBe(1);
    expect(sampleValue(samples, 'warden_decisions_total', { outcome: 'auto_approve' })).toBe(1);
    expect(
      sampleValue(samples, 'warden_adapter_request_duration_seconds_count', {
        business: 'echo',
        outcome: 'success',
      }),
    ).toBe(1);
    // The demo workspace's setup and the execute (admission, outcome) went through group commits.
    expect(sampleValue(samples, 'warden_db_commit_batch_size_count')).toBeGreaterThanOrEqual(2);
    expect(sampleValue(samples, 'warden_approvals_pending')).toBe(0);
    expect(sampleValue(samples, 'warden_outbox_backlog')).toEqual(expect.any(Number));
    expect(sampleValue(samples, 'nodejs_eventloop_lag_seconds')).toEqual(expect.any(Number));
    expect(sampleValue(samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });
});
