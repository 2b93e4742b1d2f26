import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfig } from '../config/index.ts';
import { createGateway, type Gateway } from '../gateway/app.ts';
import { OPERATOR } from '../gateway/domain/index.ts';
import { createMetrics } from '../gateway/metrics/index.ts';
import type { ServiceContext } from '../gateway/services/context.ts';
import { registerBusiness } from '../gateway/services/tenancy/businesses.ts';
import { createAgentKey } from '../gateway/services/tenancy/keys.ts';
import { createWorkspace } from '../gateway/services/tenancy/workspaces.ts';

/**
 * What recording the metrics costs an open execute (issue 11), in CPU time on one core: the
 * recording alone (what one execute records: its request, its decision, its adapter call, two group
 * commits), then whole in-process executes (the echo business, the embedded database) on two gateways,
 * METRICS_ENABLED true and false, in interleaved rounds. CPU time, not wall time: the machine is shared.
 */
export async function benchMetricsCost(rounds = 7, executes = 2_000): Promise<Record<string, number>> {
  const metrics = createMetrics({ defaultMetrics: false });
  const record = () => {
    metrics.http('POST', '/agp/execute', 200, 0.0042);
    metrics.decision('auto_approve');
    metrics.adapterCall('echo', 'success', 0.0011);
    metrics.batch(8);
    metrics.batch(8);
  };
  const cpu = async (n: number, fn: (i: number) => unknown): Promise<number> => {
    const start = process.cpuUsage();
    for (let i = 0; i < n; i++) await fn(i);
    const used = process.cpuUsage(start);
    return (used.user + used.system) / n;
  };
  for (let i = 0; i < 50_000; i++) record();
  const start = process.cpuUsage();
  for (let i = 0; i < 500_000; i++) record();
  const used = process.cpuUsage(start);
  const recordUs = (used.user + used.system) / 500_000;

  const dir = mkdtempSync(join(tmpdir(), 'warden-metrics-bench-'));
  const gateways: { on: boolean; gw: Gateway; key: string }[] = [];
  try {
    for (const on of [true, false]) {
      const config = loadConfig({
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        DATABASE_URL: `file:${join(dir, `${on ? 'on' : 'off'}.db`)}`,
        SECRETS_KEY: 'metrics-bench-secrets-key-0123456789abcdef',
        METRICS_ENABLED: String(on),
      });
      const gw = await createGateway({ config, jobs: false });
      const operator: ServiceContext = { deps: gw.deps, workspaceId: null, actor: OPERATOR };
      const { workspace, adminMemberId } = await createWorkspace({
        ctx: operator,
        input: { name: 'Bench', adminEmail: 'bench@bench.test' },
      });
      await registerBusiness({
        ctx: operator,
        input: { id: 'echo', name: 'Echo', category: 'demo', adapter: { type: 'echo' } },
      });
      const { key } = await createAgentKey({
        ctx: { deps: gw.deps, workspaceId: workspace.id, actor: { type: 'member', id: adminMemberId } },
        input: { agentId: 'bench' },
      });
      gateways.push({ on, gw, key });
    }
    // Executes in groups of 16 at once, as concurrent agents would send them (they share commits).
    const CONCURRENT = 16;
    const group =
      ({ gw, key }: { gw: Gateway; key: string }) =>
      async (i: number) => {
        const answers = await Promise.all(
          Array.from({ length: CONCURRENT }, (_, j) =>
            gw.app.request('/agp/execute', {
              method: 'POST',
              headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
              body: JSON.stringify({ businessId: 'echo', request: { sku: `s${i}-${j}`, amount_cents: 90 } }),
            }),
          ),
        );
        for (const res of answers) {
          if (res.status !== 200) throw new Error(`execute answered ${res.status}: ${await res.text()}`);
        }
      };
    const groups = Math.ceil(executes / CONCURRENT);
    const per: Record<'on' | 'off', number[]> = { on: [], off: [] };
    for (const g of gateways) await cpu(20, group(g));
    for (let round = 0; round < rounds; round++) {
      for (const g of round % 2 === 0 ? gateways : [...gateways].reverse()) {
        per[g.on ? 'on' : 'off'].push((await cpu(groups, group(g))) / CONCURRENT);
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
    const onUs = median(per.on);
    const offUs = median(per.off);
    return { recordUs, executeOnUs: onUs, executeOffUs: offUs, overheadPct: ((onUs - offUs) / offUs) * 100 };
  } finally {
    for (const { gw } of gateways) await gw.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await benchMetricsCost();
  console.log(
    `metrics: recording one execute's metrics ${r.recordUs?.toFixed(2)} µs CPU; an in-process open execute ` +
      `${r.executeOnUs?.toFixed(1)} µs CPU with metrics, ${r.executeOffUs?.toFixed(1)} µs without ` +
      `(${r.overheadPct?.toFixed(1)} %; medians of interleaved rounds)`,
  );
}
