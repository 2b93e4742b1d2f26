import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../gateway/logger.ts';
import { getTransaction } from '../../gateway/repositories/transactions.ts';
import { releaseDue } from '../../gateway/services/execute/index.ts';
import { registerBusiness } from '../../gateway/services/tenancy/businesses.ts';
import { DIALECTS } from '../support/dialects.ts';
import {
  call,
  createTenant,
  listen,
  operator,
  registerHttpBusiness,
  startTestGateway,
  startUpstream,
  type Tenant,
  type TestGateway,
  type Upstream,
} from '../support/harness.ts';
import { until } from '../support/until.ts';
import { type ExportedSpan, type OtlpReceiver, startOtlpReceiver } from './otlp-receiver.ts';

/**
 * Issue 24 item 3: OpenTelemetry. An agent's `traceparent` starts one trace that the gateway
 * continues (request, authentication, admission, decision, adapter call, outcome write), exports to
 * an OTLP/HTTP collector, passes to the business as its own `traceparent`, and writes on the
 * transaction row, the request's log line and the receipt. MCP's `_meta.traceparent` likewise.
 */

const hex = (bytes: number) =>
  Array.from({ length: bytes }, () =>
    Math.floor(Math.random() * 256)
      .toString(16)
      .padStart(2, '0'),
  ).join('');
const SERVER = 2;
const CLIENT = 3;
const CONSUMER = 5;

/** `traceparent` = version-traceid-parentid-flags (W3C Trace Context §3.2). */
function parseTraceparent(value: unknown): { traceId: string; parentId: string; flags: string } {
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(String(value));
  if (!match) throw new Error(`not a traceparent: ${String(value)}`);
  return { traceId: match[1] as string, parentId: match[2] as string, flags: match[3] as string };
}

function receiptPayload(jws: unknown): Record<string, unknown> {
  const [, body = ''] = String(jws).split('.');
  return JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** A logger whose JSON lines the test reads back. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger('info', stream), lines };
}

for (const dialect of DIALECTS) {
  describe(`OpenTelemetry export (${dialect})`, () => {
    let collector: OtlpReceiver;
    let upstream: Upstream;
    let down: Upstream;
    let gw: TestGateway;
    let server: { url: string; close: () => Promise<void> };
    let tenant: Tenant;
    let adaptersDir: string;
    const log = capturingLogger();

    beforeAll(async () => {
      collector = await startOtlpReceiver();
      // A module adapter that answers the trace context its call was given.
      adaptersDir = await mkdtemp(join(tmpdir(), 'warden-otel-modules-'));
      await writeFile(
        join(adaptersDir, 'traced.mjs'),
        `export default () => ({
          async discover() { return { status: 'succeeded' }; },
          async query() { return { status: 'succeeded' }; },
          async execute(request, options, ctx) {
            return { status: 'succeeded', data: { traceparent: ctx.traceparent, tracestate: ctx.tracestate } };
          },
        });\n`,
      );
      upstream = await startUpstream();
      // A business that refuses everything: 503.
      down = await startUpstream((_req, res) => {
        res.writeHead(503, { 'content-type': 'application/json' }).end('{}');
      });
      gw = await startTestGateway({
        dialect,
        logger: log.logger,
        env: {
          OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
          OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
          OTEL_SERVICE_NAME: 'warden-under-test',
          MCP_SESSIONS: 'none',
          ADAPTERS_DIR: adaptersDir,
        },
      });
      server = await listen(gw);
      await registerHttpBusiness(gw, upstream.url, 'shop');
      await registerHttpBusiness(gw, down.url, 'down');
      await registerBusiness({
        ctx: operator(gw),
        input: { id: 'mod', name: 'Module', category: 'retail', adapter: { type: 'module', name: 'traced' } },
      });
      tenant = await createTenant(gw);
      // A policy decides, so the decision has its span: one rule, and a daily limit.
      const put = await call(gw, 'PUT', '/v1/policies/default', {
        key: tenant.adminToken,
        body: {
          spending_limits: [{ id: 'daily', amount: 100_000, interval: 'day' }],
          rules: [
            {
              id: 'pens-ok',
              priority: 1,
              conditions: [{ field: 'item', op: 'eq', value: 'pen' }],
              action: 'auto_approve',
            },
          ],
        },
      });
      expect(put.status).toBe(201);
    });
    afterAll(async () => {
      await server.close();
      await gw.dispose();
      await upstream.close();
      await down.close();
      await collector.close();
      await rm(adaptersDir, { recursive: true, force: true });
    });

    /** Every exported span of one trace, once the collector has them all. */
    async function traceOf(traceId: string, atLeast: number): Promise<ExportedSpan[]> {
      await gw.deps.tracing.flush();
      await until(
        () => collector.spans.filter((s) => s.traceId === traceId).length >= atLeast,
        10_000,
        `${atLeast} spans of trace ${traceId}`,
      );
      return collector.spans.filter((s) => s.traceId === traceId);
    }

    it("continues the agent's traceparent through the business's, with HTTP semantic conventions", async () => {
      const agentTrace = hex(16);
      const agentSpan = hex(8);
      const res = await fetch(`${server.url}/agp/execute`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${tenant.agentKey}`,
          'Content-Type': 'application/json',
          'User-Agent': 'otel-test-agent/1.0',
          traceparent: `00-${agentTrace}-${agentSpan}-01`,
          tracestate: 'agent=on',
        },
        body: JSON.stringify({ businessId: 'shop', request: { item: 'pen', amount_cents: 250 } }),
      });
      expect(res.status).toBe(200);
      const answer = (await res.json()) as { transactionId: string; receipt: string };

      // The business received the same trace, the parent being the gateway's client span.
      const forwarded = upstream.requests.at(-1);
      const received = parseTraceparent(forwarded?.headers.traceparent);
      expect(received.traceId).toBe(agentTrace);
      expect(received.flags).toBe('01');
      expect(forwarded?.headers.tracestate).toBe('agent=on');

      const spans = await traceOf(agentTrace, 7);
      const byName = (name: string) => {
        const found = spans.filter((s) => s.name === name);
        expect(found, name).toHaveLength(1);
        return found[0] as ExportedSpan;
      };
      const request = byName('POST /agp/execute');
      const auth = byName('warden.authenticate');
      const admission = byName('warden.admission');
      const decision = byName('warden.decision');
      const adapterCall = byName('warden.adapter_call');
      const client = byName('POST');
      const outcome = byName('warden.outcome_write');

      // One tree: the agent's span → the request → its parts; the business's parent is the client span.
      expect(request.parentSpanId).toBe(agentSpan);
      expect(request.kind).toBe(SERVER);
      for (const child of [auth, admission, adapterCall, outcome])
        expect(child.parentSpanId).toBe(request.spanId);
      expect(decision.parentSpanId).toBe(admission.spanId);
      expect(client.parentSpanId).toBe(adapterCall.spanId);
      expect(client.kind).toBe(CLIENT);
      expect(received.parentId).toBe(client.spanId);

      const port = Number(new URL(server.url).port);
      expect(request.attributes).toMatchObject({
        'http.request.method': 'POST',
        'url.path': '/agp/execute',
        'url.scheme': 'http',
        'http.route': '/agp/execute',
        'http.response.status_code': 200,
        'server.address': '127.0.0.1',
        'server.port': port,
        'user_agent.original': 'otel-test-agent/1.0',
      });
      const upstreamUrl = new URL(upstream.url);
      expect(client.attributes).toMatchObject({
        'http.request.method': 'POST',
        'server.address': upstreamUrl.hostname,
        'server.port': Number(upstreamUrl.port),
        'url.full': `${upstream.url}/agp/execute`,
        'http.response.status_code': 200,
      });
      expect(auth.attributes).toMatchObject({
        'warden.workspace.id': tenant.workspaceId,
        'warden.agent.id': 'agent-1',
      });
      expect(admission.attributes).toMatchObject({
        'warden.transaction.id': answer.transactionId,
        'warden.admission.outcome': 'forward',
      });
      expect(decision.attributes).toMatchObject({
        'warden.policy.name': 'default',
        'warden.decision.outcome': 'auto_approve',
        'warden.decision.rule_id': 'pens-ok',
        'warden.decision.rules_matched': ['pens-ok'],
      });
      expect(outcome.attributes).toMatchObject({
        'warden.transaction.status': 'succeeded',
        'warden.receipt.issued': true,
      });
      expect(request.resource['service.name']).toBe('warden-under-test');
      expect(collector.posts.every((p) => p.path === '/v1/traces' && p.contentType.includes('json'))).toBe(
        true,
      );

      // The trace id on the row, the receipt and the request's log line.
      const row = await getTransaction(gw.db.reader, tenant.workspaceId, answer.transactionId);
      expect(row?.traceId).toBe(agentTrace);
      expect(receiptPayload(answer.receipt).traceId).toBe(agentTrace);
      const line = log.lines.find((l) => l.msg === 'request' && l.transactionId === answer.transactionId);
      expect(line?.traceId).toBe(agentTrace);
    });

    it('starts a trace of its own for an agent that sent none, and a failing business marks the client span', async () => {
      const before = upstream.requests.length;
      const res = await call(gw, 'POST', '/agp/execute', {
        key: tenant.agentKey,
        body: { businessId: 'shop', request: { item: 'pen', amount_cents: 1 } },
      });
      expect(res.status).toBe(200);
      const forwarded = upstream.requests[before];
      const { traceId } = parseTraceparent(forwarded?.headers.traceparent);
      const spans = await traceOf(traceId, 7);
      const request = spans.find((s) => s.name === 'POST /agp/execute');
      expect(request?.parentSpanId).toBeUndefined();
      const row = await getTransaction(gw.db.reader, tenant.workspaceId, String(res.body.transactionId));
      expect(row?.traceId).toBe(traceId);

      // The business answers 503: the client span fails with it, and the request's 502 fails the server span.
      const failed = await call(gw, 'POST', '/agp/execute', {
        key: tenant.agentKey,
        body: { businessId: 'down', request: { item: 'pen', amount_cents: 1 } },
      });
      expect(failed.status).toBe(502);
      const sentDown = parseTraceparent(down.requests.at(-1)?.headers.traceparent);
      const failedSpans = await traceOf(sentDown.traceId, 7);
      const client = failedSpans.find((s) => s.name === 'POST');
      expect(client?.attributes).toMatchObject({ 'http.response.status_code': 503, 'error.type': '503' });
      expect(client?.status.code).toBe(2); // STATUS_CODE_ERROR
      const server = failedSpans.find((s) => s.name === 'POST /agp/execute');
      expect(server?.attributes).toMatchObject({ 'http.response.status_code': 502, 'error.type': '502' });
      expect(server?.status.code).toBe(2);
      expect(failedSpans.find((s) => s.name === 'warden.adapter_call')?.attributes['error.type']).toBe(
        'ADAPTER_ERROR',
      );
    });

    it("honours MCP's _meta.traceparent on a tools/call", async () => {
      const metaTrace = hex(16);
      const metaSpan = hex(8);
      const res = await fetch(`${server.url}/mcp`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${tenant.agentKey}`,
          'Content-Type': 'application/json',
          Accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 7,
          method: 'tools/call',
          params: {
            name: 'execute',
            arguments: { businessId: 'shop', request: { item: 'pen', amount_cents: 3 } },
            _meta: { traceparent: `00-${metaTrace}-${metaSpan}-01` },
          },
        }),
      });
      expect(res.status).toBe(200);
      const reply = (await res.json()) as { result: { structuredContent: { transactionId: string } } };
      const received = parseTraceparent(upstream.requests.at(-1)?.headers.traceparent);
      expect(received.traceId).toBe(metaTrace);
      const spans = await traceOf(metaTrace, 6);
      const tool = spans.find((s) => s.name === 'tools/call execute');
      expect(tool?.parentSpanId).toBe(metaSpan);
      expect(tool?.kind).toBe(SERVER);
      expect(tool?.attributes).toMatchObject({
        'mcp.method.name': 'tools/call',
        'gen_ai.tool.name': 'execute',
        'jsonrpc.request.id': '7',
      });
      expect(spans.find((s) => s.name === 'warden.admission')?.parentSpanId).toBe(tool?.spanId);
      const row = await getTransaction(
        gw.db.reader,
        tenant.workspaceId,
        reply.result.structuredContent.transactionId,
      );
      expect(row?.traceId).toBe(metaTrace);
    });

    it("a module adapter's call is given the gateway's span in the agent's trace", async () => {
      const agentTrace = hex(16);
      const res = await call(gw, 'POST', '/agp/execute', {
        key: tenant.agentKey,
        headers: { traceparent: `00-${agentTrace}-${hex(8)}-01`, tracestate: 'agent=on' },
        body: { businessId: 'mod', request: { item: 'pen', amount_cents: 7 } },
      });
      expect(res.status).toBe(200);
      const given = res.body.data as { traceparent: string; tracestate: string };
      const { traceId, parentId } = parseTraceparent(given.traceparent);
      expect(traceId).toBe(agentTrace);
      expect(given.tracestate).toBe('agent=on');
      const spans = await traceOf(agentTrace, 6);
      expect(parentId).toBe(spans.find((s) => s.name === 'warden.adapter_call')?.spanId);
    });

    /** An execute with the agent's `traceparent`, answered 202 (parked or queued) under `policy`. */
    async function deferredExecute(policy: unknown, request: Record<string, unknown>) {
      const deferring = await createTenant(gw, { name: 'Deferring' });
      const put = await call(gw, 'PUT', '/v1/policies/default', { key: deferring.adminToken, body: policy });
      expect(put.status).toBe(201);
      const agentTrace = hex(16);
      const sent = upstream.requests.length;
      const res = await call(gw, 'POST', '/agp/execute', {
        key: deferring.agentKey,
        headers: { traceparent: `00-${agentTrace}-${hex(8)}-01`, tracestate: 'agent=on' },
        body: { businessId: 'shop', request },
      });
      expect(res.status).toBe(202);
      expect(upstream.requests.length).toBe(sent);
      return { tenant: deferring, agentTrace, answer: res.body };
    }

    it("an approved execute's forward continues the agent's trace, linked to the approver's request", async () => {
      const {
        tenant: deferring,
        agentTrace,
        answer,
      } = await deferredExecute(
        {
          rules: [
            {
              id: 'desks-asked',
              conditions: [{ field: 'item', op: 'eq', value: 'desk' }],
              action: 'require_approval',
            },
          ],
          routing_stages: [{ stage_index: 0, role: 'admin', approval_timeout_seconds: 3600 }],
        },
        { item: 'desk', amount_cents: 9000 },
      );
      // The approver's request belongs to a trace of its own.
      const approverTrace = hex(16);
      const approved = await call(
        gw,
        'POST',
        `/v1/approvals/${(answer.approval as { id: string }).id}/approve`,
        {
          key: deferring.adminToken,
          headers: { traceparent: `00-${approverTrace}-${hex(8)}-01` },
          body: {},
        },
      );
      expect(approved.status).toBe(200);

      // The business receives the agent's trace (and tracestate), not the approver's.
      const forwarded = upstream.requests.at(-1);
      const received = parseTraceparent(forwarded?.headers.traceparent);
      expect(received.traceId).toBe(agentTrace);
      expect(forwarded?.headers.tracestate).toBe('agent=on');

      // One trace: the agent's request, and hours later perhaps, the forward as its deferred child.
      const spans = await traceOf(agentTrace, 8);
      const one = (name: string) => {
        const found = spans.filter((s) => s.name === name);
        expect(found, name).toHaveLength(1);
        return found[0] as ExportedSpan;
      };
      const request = one('POST /agp/execute');
      expect(one('warden.admission').attributes['warden.admission.outcome']).toBe('approval');
      const deferred = one('warden.deferred_execute');
      expect(deferred.kind).toBe(CONSUMER);
      expect(deferred.parentSpanId).toBe(request.spanId);
      expect(deferred.attributes).toMatchObject({
        'warden.transaction.id': answer.transactionId,
        'warden.deferred.cause': 'approval',
      });
      const adapterCall = one('warden.adapter_call');
      expect(adapterCall.parentSpanId).toBe(deferred.spanId);
      expect(one('warden.outcome_write').parentSpanId).toBe(deferred.spanId);
      const client = one('POST');
      expect(client.parentSpanId).toBe(adapterCall.spanId);
      expect(received.parentId).toBe(client.spanId);

      // The approver's request is linked from it.
      const [approverRequest] = (await traceOf(approverTrace, 1)).filter((s) => s.kind === SERVER);
      expect(approverRequest?.name).toBe('POST /v1/approvals/:id/approve');
      expect(deferred.links).toEqual([{ traceId: approverTrace, spanId: approverRequest?.spanId }]);
      const row = await getTransaction(gw.db.reader, deferring.workspaceId, String(answer.transactionId));
      expect(row?.status).toBe('succeeded');
      expect(row?.traceId).toBe(agentTrace);
    });

    it("a queued execute released by the job continues the agent's trace", async () => {
      // 2026-11-24 is a Tuesday; the gateway's clock stands at noon UTC, outside the window.
      const { agentTrace, answer } = await deferredExecute(
        { time_windows: { allow: [{ days: ['tue'], start: '13:00', end: '14:00' }], outside: 'queue' } },
        { item: 'lamp', amount_cents: 40 },
      );
      expect(answer.status).toBe('queued');
      gw.now.advance(3600_000);
      try {
        expect(await releaseDue(gw.deps)).toBe(1);
      } finally {
        gw.now.advance(-3600_000);
      }
      const received = parseTraceparent(upstream.requests.at(-1)?.headers.traceparent);
      expect(received.traceId).toBe(agentTrace);

      // The job's spans (admitted again, then forwarded) hang under one deferred span of the trace.
      const spans = await traceOf(agentTrace, 10);
      const request = spans.find((s) => s.name === 'POST /agp/execute');
      const deferred = spans.find((s) => s.name === 'warden.deferred_execute');
      expect(deferred?.parentSpanId).toBe(request?.spanId);
      expect(deferred?.kind).toBe(CONSUMER);
      expect(deferred?.attributes['warden.deferred.cause']).toBe('queue');
      expect(deferred?.links).toEqual([]);
      const admissions = spans.filter((s) => s.name === 'warden.admission');
      expect(admissions.map((s) => [s.parentSpanId, s.attributes['warden.admission.outcome']])).toEqual([
        [request?.spanId, 'queue'],
        [deferred?.spanId, 'forward'],
      ]);
      const adapterCall = spans.find((s) => s.name === 'warden.adapter_call');
      expect(adapterCall?.parentSpanId).toBe(deferred?.spanId);
      expect(received.parentId).toBe(spans.find((s) => s.name === 'POST')?.spanId);
    });
  });
}

describe('OpenTelemetry off (no OTLP endpoint)', () => {
  let upstream: Upstream;
  let gw: TestGateway;
  let tenant: Tenant;

  beforeAll(async () => {
    upstream = await startUpstream();
    gw = await startTestGateway();
    await registerHttpBusiness(gw, upstream.url, 'shop');
    tenant = await createTenant(gw);
  });
  afterAll(async () => {
    await gw.dispose();
    await upstream.close();
  });

  it("exports nothing, yet passes the agent's traceparent on and records its trace id", async () => {
    expect(gw.deps.tracing.exporting).toBe(false);
    const agentTrace = hex(16);
    const agentSpan = hex(8);
    const res = await call(gw, 'POST', '/agp/execute', {
      key: tenant.agentKey,
      headers: { traceparent: `00-${agentTrace}-${agentSpan}-01`, tracestate: 'agent=on' },
      body: { businessId: 'shop', request: { item: 'pen', amount_cents: 5 } },
    });
    expect(res.status).toBe(200);
    // No span of its own: the business sees the agent's context unchanged.
    const forwarded = upstream.requests.at(-1);
    expect(forwarded?.headers.traceparent).toBe(`00-${agentTrace}-${agentSpan}-01`);
    expect(forwarded?.headers.tracestate).toBe('agent=on');
    const row = await getTransaction(gw.db.reader, tenant.workspaceId, String(res.body.transactionId));
    expect(row?.traceId).toBe(agentTrace);
    expect(receiptPayload(res.body.receipt).traceId).toBe(agentTrace);
  });

  it("an approved or queued execute's later forward passes the agent's traceparent on unchanged", async () => {
    const deferring = await createTenant(gw, { name: 'Deferring' });
    const put = await call(gw, 'PUT', '/v1/policies/default', {
      key: deferring.adminToken,
      body: {
        rules: [
          {
            id: 'desks-asked',
            conditions: [{ field: 'item', op: 'eq', value: 'desk' }],
            action: 'require_approval',
          },
        ],
        routing_stages: [{ stage_index: 0, role: 'admin', approval_timeout_seconds: 3600 }],
        time_windows: { allow: [{ days: ['tue'], start: '13:00', end: '14:00' }], outside: 'queue' },
      },
    });
    expect(put.status).toBe(201);
    const execute = (item: string, traceparent: string) =>
      call(gw, 'POST', '/agp/execute', {
        key: deferring.agentKey,
        headers: { traceparent, tracestate: 'agent=on' },
        body: { businessId: 'shop', request: { item, amount_cents: 5 } },
      });

    // Queued at noon (outside the window), released by the job at one.
    const queuedBy = `00-${hex(16)}-${hex(8)}-01`;
    const queued = await execute('lamp', queuedBy);
    expect(queued.body.status).toBe('queued');
    gw.now.advance(3600_000);
    try {
      expect(await releaseDue(gw.deps)).toBe(1);
    } finally {
      gw.now.advance(-3600_000);
    }
    expect(upstream.requests.at(-1)?.headers).toMatchObject({
      traceparent: queuedBy,
      tracestate: 'agent=on',
    });

    // Parked for approval inside the window, approved by a request with a traceparent of its own.
    gw.now.advance(3600_000);
    try {
      const parkedBy = `00-${hex(16)}-${hex(8)}-01`;
      const parked = await execute('desk', parkedBy);
      expect(parked.status).toBe(202);
      const approved = await call(
        gw,
        'POST',
        `/v1/approvals/${(parked.body.approval as { id: string }).id}/approve`,
        {
          key: deferring.adminToken,
          headers: { traceparent: `00-${hex(16)}-${hex(8)}-01` },
          body: {},
        },
      );
      expect(approved.status).toBe(200);
      expect(upstream.requests.at(-1)?.headers).toMatchObject({
        traceparent: parkedBy,
        tracestate: 'agent=on',
      });
    } finally {
      gw.now.advance(-3600_000);
    }
  });

  it('an agent without traceparent (or with a malformed one) is not traced at all', async () => {
    for (const headers of [{}, { traceparent: '00-zz-not-a-trace' }] as Record<string, string>[]) {
      const res = await call(gw, 'POST', '/agp/execute', {
        key: tenant.agentKey,
        headers,
        body: { businessId: 'shop', request: { item: 'pen', amount_cents: 5 } },
      });
      expect(res.status).toBe(200);
      expect(upstream.requests.at(-1)?.headers.traceparent).toBeUndefined();
      const row = await getTransaction(gw.db.reader, tenant.workspaceId, String(res.body.transactionId));
      expect(row?.traceId).toBeNull();
      expect(receiptPayload(res.body.receipt)).not.toHaveProperty('traceId');
    }
  });
});
