import { fileURLToPath } from 'node:url';
import { mcpSessionDriver, mcpStatelessDriver } from '../drivers/mcp.ts';
import { confirmPairsDriver, executeDriver, restWorkerDriver } from '../drivers/rest.ts';
import { bareProxy } from './bare-proxy.ts';
import { direct } from './direct.ts';
import { gatewayScenario } from './gateway.ts';
import { minimalGateway } from './minimal-gateway.ts';
import { postgresOpenScenario } from './postgres.ts';
import { standardsCost } from './standards-cost.ts';
import type { Scenario } from './types.ts';

export type { Scenario, ScenarioContext, ScenarioRun } from './types.ts';

/**
 * Every scenario of `npm run bench`, in the order a round runs them (BENCH_ONLY picks by id).
 * gateway-open-no-metrics is gateway-open with METRICS_ENABLED=false (issue 11). gateway-open-echo and
 * gateway-open-module: the in-process echo adapter against a module adapter in its worker
 * (bench/adapters/echo-module.mjs), the cost of isolating modules (issue 12).
 */
export const SCENARIOS: Scenario[] = [
  direct,
  bareProxy,
  minimalGateway,
  gatewayScenario({
    id: 'gateway-open',
    label: 'gateway execute (open)',
    env: { AGENR_EXECUTE_POLICY: 'open' },
    driver: executeDriver,
  }),
  gatewayScenario({
    // Issue 11: what recording the Prometheus metrics costs the hot path (gateway-open records them).
    id: 'gateway-open-no-metrics',
    label: 'gateway execute (open, METRICS_ENABLED=false)',
    env: { AGENR_EXECUTE_POLICY: 'open', METRICS_ENABLED: 'false' },
    driver: executeDriver,
  }),
  gatewayScenario({
    id: 'gateway-confirm',
    label: 'gateway prepare+execute (confirm)',
    unit: 'pairs/s',
    env: { AGENR_EXECUTE_POLICY: 'confirm' },
    driver: confirmPairsDriver,
  }),
  gatewayScenario({
    id: 'gateway-open-policy',
    label: 'gateway execute (open, 50-rule policy)',
    env: {
      AGENR_EXECUTE_POLICY: 'open',
      // Installs the evaluator bench's 50 rules and 3 limits as the workspace's default policy.
      BENCH_GATEWAY_SETUP: fileURLToPath(new URL('../setup/fifty-rule-policy.ts', import.meta.url)),
    },
    driver: executeDriver,
  }),
  // Issue 12: the same open execute against the in-process echo adapter and against a module adapter
  // doing the same in its worker; the difference is the worker round trip (structured clone both ways).
  gatewayScenario({
    id: 'gateway-open-echo',
    label: 'gateway execute (open, in-process echo adapter)',
    env: { AGENR_EXECUTE_POLICY: 'open', BENCH_BUSINESS_ADAPTER: 'echo' },
    driver: executeDriver,
  }),
  gatewayScenario({
    id: 'gateway-open-module',
    label: 'gateway execute (open, module adapter in a worker)',
    env: {
      AGENR_EXECUTE_POLICY: 'open',
      ADAPTERS_DIR: fileURLToPath(new URL('../adapters/', import.meta.url)),
      BENCH_BUSINESS_ADAPTER: 'module:echo-module',
    },
    driver: executeDriver,
  }),
  // Issue 13: the same execute as an MCP tool call, against REST execute in the same run.
  gatewayScenario({
    id: 'mcp-execute-stateless',
    label: 'MCP tools/call execute (MCP_SESSIONS=none, JSON)',
    env: { AGENR_EXECUTE_POLICY: 'open', MCP_SESSIONS: 'none' },
    driver: mcpStatelessDriver,
  }),
  gatewayScenario({
    id: 'gateway-open-workers',
    label: 'gateway execute (open, worker client)',
    env: { AGENR_EXECUTE_POLICY: 'open' },
    driver: restWorkerDriver,
  }),
  gatewayScenario({
    id: 'mcp-execute-session',
    label: 'MCP tools/call execute (one session, event stream, worker client)',
    env: { AGENR_EXECUTE_POLICY: 'open' },
    driver: mcpSessionDriver,
  }),
  postgresOpenScenario(1),
  postgresOpenScenario(2),
  // Issue 24: OpenTelemetry exporting vs off, RFC 9421 signing vs without, in one run.
  standardsCost,
];
