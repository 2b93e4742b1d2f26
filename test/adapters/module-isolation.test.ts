import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdapterDispatcher } from '../../adapters/http/dispatcher.ts';
import { createEchoAdapter } from '../../adapters/index.ts';
import { loadModuleAdapters, type ModuleAdapterFactory } from '../../adapters/module.ts';
import { type Adapter, AdapterError } from '../../adapters/types.ts';
import { ConfigError, loadConfig } from '../../config/index.ts';
import { registerBusiness } from '../../gateway/services/tenancy/businesses.ts';
import {
  call,
  createTenant,
  operator,
  registerEcho,
  startTestGateway,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';
import { json, startUpstream, type Upstream } from './upstream.ts';

// Issue 12 item 5: each module adapter runs in a worker_threads Worker of its own.

/** Loops for ever when asked; `instance` tells one worker from the next. */
const TOGGLE = `
const instance = Math.random();
export default function create({ businessId }) {
  return {
    async discover() { return { status: 'succeeded', data: { businessId, instance } }; },
    async query(request) { return { status: 'succeeded', data: request }; },
    async execute(request, options) {
      if (request.loop === true) for (;;) {}
      if (request.crash === true) setTimeout(() => { throw new Error('kaboom'); });
      if (request.crash === true) await new Promise((r) => setTimeout(r, 1000));
      if (typeof request.wait === 'number') await new Promise((r) => setTimeout(r, request.wait));
      if (request.fail === 'plain') throw new Error('out of stock');
      if (request.fail === 'adapter') {
        throw Object.assign(new Error('Business said no.'), { code: 'ADAPTER_ERROR', upstreamStatus: 409 });
      }
      if (request.fail === 'unclonable') return { status: 'succeeded', data: { fn: () => 1 } };
      return { status: 'succeeded', data: { instance, key: options.idempotencyKey } };
    },
  };
}
`;

/** Allocates without bound. */
const HOG = `
export default function create() {
  const kept = [];
  return {
    async discover() { return { status: 'succeeded' }; },
    async query() { return { status: 'succeeded' }; },
    async execute(request) {
      if (request.hog === true) for (;;) kept.push(new Array(1_000_000).fill(Math.random()));
      return { status: 'succeeded', data: { kept: kept.length } };
    },
  };
}
`;

/** Reports what it can see of the environment and fetches what it is asked to. */
const PEEK = `
export default function create() {
  return {
    async discover() { return { status: 'succeeded', data: { env: { ...process.env } } }; },
    async query(request, ctx) {
      const f = request.global === true ? fetch : ctx.fetch;
      try {
        const res = await f(request.url, { method: 'POST', body: JSON.stringify({ hello: 'world' }),
          headers: { 'content-type': 'application/json', connection: 'close' }, sign: request.sign === true });
        if (request.thenLoop === true) for (;;) {}
        return { status: 'succeeded', data: { status: res.status, body: await res.json() } };
      } catch (err) {
        return { status: 'failed', data: { error: err.message, cause: err.cause?.message, code: err.cause?.code } };
      }
    },
    async execute() { return { status: 'succeeded' }; },
  };
}
`;

/** Answers the trace context its call was given. */
const TRACE = `
export default () => ({
  async discover() { return { status: 'succeeded' }; },
  async query() { return { status: 'succeeded' }; },
  async execute(request, options, ctx) {
    return { status: 'succeeded', data: { traceparent: ctx.traceparent ?? null, tracestate: ctx.tracestate ?? null } };
  },
});
`;

// A heap near its limit collects garbage for a while before it gives up: room for that on a busy machine.
const LIMITS = { timeoutMs: 1_000, memoryMb: 16 };
const SIGNING_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

let dir: string;
let modules: Map<string, ModuleAdapterFactory>;
const open = createAdapterDispatcher({ timeoutMs: 2_000, allowPrivate: true });
const strict = createAdapterDispatcher({ timeoutMs: 2_000, allowPrivate: false });
const built: Adapter[] = [];

function build(name: string, options: { strictEgress?: boolean } = {}): Adapter {
  const factory = modules.get(name);
  if (!factory) throw new Error(`no module ${name}`);
  const adapter = factory({
    businessId: `biz_${name}`,
    dispatcher: options.strictEgress ? strict : open,
    signingSecret: () => SIGNING_SECRET,
  });
  built.push(adapter);
  return adapter;
}

const ctx = { businessId: 'biz', transactionId: 'txn_1' };

async function failure(promise: Promise<unknown>): Promise<AdapterError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof AdapterError)) throw new Error(`expected an AdapterError, got ${String(err)}`);
  return err;
}

/** The longest gap between 5 ms ticks while `work` runs: how long the gateway's event loop was blocked. */
async function maxLag<T>(work: Promise<T>): Promise<{ value: T; lagMs: number }> {
  let last = performance.now();
  let lagMs = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    lagMs = Math.max(lagMs, now - last);
    last = now;
  }, 5);
  try {
    return { value: await work, lagMs };
  } finally {
    clearInterval(tick);
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'warden-isolation-'));
  await writeFile(join(dir, 'toggle.mjs'), TOGGLE);
  await writeFile(join(dir, 'hog.mjs'), HOG);
  await writeFile(join(dir, 'peek.mjs'), PEEK);
  await writeFile(join(dir, 'trace.mjs'), TRACE);
  await writeFile(join(dir, 'hollow.mjs'), 'export default () => ({ discover() {} });\n');
  modules = await loadModuleAdapters(dir, LIMITS);
});

afterAll(async () => {
  await Promise.all(built.map((a) => a.close?.()));
  await Promise.all([open.close(), strict.close()]);
  await rm(dir, { recursive: true, force: true });
});

describe('module adapters in workers', () => {
  it('a module that loops for ever is one ADAPTER_TIMEOUT; the event loop keeps turning and the next call gets a fresh worker', async () => {
    const toggle = build('toggle');
    const echo = createEchoAdapter({ businessId: 'echo' });
    const first = await toggle.discover(ctx);

    const looping = failure(toggle.execute({ loop: true }, {}, ctx));
    const { value, lagMs } = await maxLag(
      Promise.all([looping, echo.execute({ sku: 'tea' }, {}, { ...ctx, businessId: 'echo' })]),
    );
    const [timedOut, echoed] = value;
    expect(timedOut.code).toBe('ADAPTER_TIMEOUT');
    expect(timedOut.mayHaveActed).toBe(false); // it never called ctx.fetch
    expect(echoed.status).toBe('succeeded');
    // In-process, the loop would have blocked it for the whole timeout (1 s); room for a busy machine.
    expect(lagMs).toBeLessThan(500);

    const next = await toggle.execute({ loop: false }, { idempotencyKey: 'k1' }, ctx);
    expect(next).toMatchObject({ status: 'succeeded', data: { key: 'k1' } });
    expect((next.data as { instance: number }).instance).not.toBe(
      (first.data as { instance: number }).instance,
    );
  });

  it('a module that exhausts its memory is one ADAPTER_ERROR, and is replaced', async () => {
    const hog = build('hog');
    expect(await hog.execute({}, {}, ctx)).toEqual({ status: 'succeeded', data: { kept: 0 } }); // started
    const echo = createEchoAdapter({ businessId: 'echo' });
    const [err, echoed] = await Promise.all([
      failure(hog.execute({ hog: true }, {}, ctx)),
      echo.execute({ sku: 'tea' }, {}, { ...ctx, businessId: 'echo' }),
    ]);
    expect(err.code).toBe('ADAPTER_ERROR');
    expect(err.message).toMatch(/memory/);
    expect(echoed.status).toBe('succeeded');
    expect(await hog.execute({}, {}, ctx)).toEqual({ status: 'succeeded', data: { kept: 0 } });
  });

  it('a module that throws: a rejected call is ADAPTER_ERROR, an uncaught error kills only its worker', async () => {
    const toggle = build('toggle');
    const plain = await failure(toggle.execute({ fail: 'plain' }, {}, ctx));
    expect(plain).toMatchObject({ code: 'ADAPTER_ERROR', message: 'Adapter module failed: out of stock' });
    const own = await failure(toggle.execute({ fail: 'adapter' }, {}, ctx));
    expect(own).toMatchObject({ code: 'ADAPTER_ERROR', message: 'Business said no.', upstreamStatus: 409 });
    const unclonable = await failure(toggle.execute({ fail: 'unclonable' }, {}, ctx));
    expect(unclonable.message).toMatch(/not JSON-safe/);

    const crashed = await failure(toggle.execute({ crash: true }, {}, ctx));
    expect(crashed).toMatchObject({ code: 'ADAPTER_ERROR' });
    expect(crashed.message).toMatch(/kaboom/);
    expect((await toggle.discover(ctx)).status).toBe('succeeded');
  });

  it("the worker sees none of the gateway's environment", async () => {
    const saved = { ...process.env };
    process.env.SECRETS_KEY = 'a-secret-the-module-must-not-see-0123456789';
    process.env.WARDEN_ADMIN_TOKEN = 'an-admin-token-0123456789';
    try {
      const peek = build('peek');
      const { data } = await peek.discover(ctx);
      expect(data).toEqual({ env: {} });
    } finally {
      process.env = saved;
    }
  });

  it('ctx.fetch goes through the egress-checked dispatcher, signed on request', async () => {
    const upstream: Upstream = await startUpstream((req, res) =>
      json(res, 201, { got: req.body.toString() }),
    );
    try {
      const allowed = await build('peek').query({ url: `${upstream.url}/hook`, sign: true }, ctx);
      expect(allowed).toEqual({
        status: 'succeeded',
        data: { status: 201, body: { got: '{"hello":"world"}' } },
      });
      const seen = upstream.requests.at(-1);
      if (!seen) throw new Error('upstream not called');
      expect(seen.headers.connection).not.toBe('close'); // hop-by-hop, the connection's own
      expect(
        new Webhook(SIGNING_SECRET).verify(seen.body.toString(), seen.headers as Record<string, string>),
      ).toEqual({ hello: 'world' });

      // EGRESS_ALLOW_PRIVATE=false: loopback is refused, through ctx.fetch and the global fetch alike.
      const guarded = build('peek', { strictEgress: true });
      for (const global of [false, true]) {
        const refused = await guarded.query({ url: `${upstream.url}/hook`, global }, ctx);
        expect(refused).toMatchObject({ status: 'failed', data: { cause: 'Outbound address not allowed' } });
      }
      expect(upstream.requests).toHaveLength(1);

      // A call that reached out before it ran away may have acted: recorded unknown, not failed.
      const acted = await failure(build('peek').query({ url: `${upstream.url}/hook`, thenLoop: true }, ctx));
      expect(acted).toMatchObject({ code: 'ADAPTER_TIMEOUT', mayHaveActed: true });
      expect(upstream.requests).toHaveLength(2);
    } finally {
      await upstream.close();
    }
  });
});

describe('module adapter calls', () => {
  it('an aborted call is ADAPTER_ERROR, a timed-out signal ADAPTER_TIMEOUT, and the worker lives on', async () => {
    const toggle = build('toggle');
    const controller = new AbortController();
    const first = await toggle.discover(ctx);
    const aborted = failure(toggle.execute({ wait: 1000 }, {}, { ...ctx, signal: controller.signal }));
    controller.abort();
    expect((await aborted).code).toBe('ADAPTER_ERROR');
    const timedOut = await failure(
      toggle.execute({ wait: 1000 }, {}, { ...ctx, signal: AbortSignal.timeout(20) }),
    );
    expect(timedOut.code).toBe('ADAPTER_TIMEOUT');
    // The same worker: a cancelled call does not cost the others.
    expect(await toggle.discover(ctx)).toEqual(first);
  });

  it('close() fails the calls in flight; a factory without the contract fails each call', async () => {
    const toggle = build('toggle');
    const inFlight = failure(toggle.execute({ loop: true }, {}, ctx));
    await toggle.close?.();
    expect((await inFlight).message).toMatch(/closed/);
    expect((await failure(toggle.discover(ctx))).message).toMatch(/closed/);

    const hollow = build('hollow');
    const err = await failure(hollow.discover(ctx));
    expect(err.code).toBe('ADAPTER_ERROR');
    expect(err.message).toMatch(/without discover, query and execute/);
  });

  it('MODULE_ADAPTER_TIMEOUT_MS defaults to ADAPTER_TIMEOUT_MS, MODULE_ADAPTER_MEMORY_MB to 64', () => {
    expect(loadConfig({ ADAPTER_TIMEOUT_MS: '1234' })).toMatchObject({
      moduleAdapterTimeoutMs: 1234,
      moduleAdapterMemoryMb: 64,
    });
    expect(loadConfig({ MODULE_ADAPTER_TIMEOUT_MS: '500', MODULE_ADAPTER_MEMORY_MB: '16' })).toMatchObject({
      moduleAdapterTimeoutMs: 500,
      moduleAdapterMemoryMb: 16,
    });
    expect(() => loadConfig({ MODULE_ADAPTER_MEMORY_MB: '2' })).toThrow(ConfigError);
  });
});

describe('module adapters through POST /agp/execute', () => {
  let gw: TestGateway;
  let tenant: Tenant;
  beforeAll(async () => {
    gw = await startTestGateway({
      env: { ADAPTERS_DIR: dir, MODULE_ADAPTER_TIMEOUT_MS: '1000', MODULE_ADAPTER_MEMORY_MB: '16' },
    });
    tenant = await createTenant(gw);
    await registerEcho(gw, 'echo');
    for (const name of ['toggle', 'hog', 'trace']) {
      await registerBusiness({
        ctx: operator(gw),
        input: { id: name, name, category: 'demo', adapter: { type: 'module', name } },
      });
    }
  });
  afterAll(async () => {
    await gw?.dispose();
  });

  const execute = (businessId: string, request: Record<string, unknown>) =>
    call(gw, 'POST', '/agp/execute', { key: tenant.agentKey, body: { businessId, request } });

  it('a looping module answers 504 and a memory hog 502, while another business answers 200', async () => {
    // Workers started, so the limits below measure the modules, not a worker's start.
    expect((await execute('toggle', {})).status).toBe(200);
    expect((await execute('hog', {})).status).toBe(200);
    const [looped, echoed] = await Promise.all([
      execute('toggle', { loop: true }),
      execute('echo', { sku: 'tea' }),
    ]);
    expect(looped.status).toBe(504);
    expect(looped.body).toMatchObject({ code: 'ADAPTER_TIMEOUT' });
    expect(echoed.status).toBe(200);

    const [hogged, echoedAgain] = await Promise.all([
      execute('hog', { hog: true }),
      execute('echo', { sku: 'tea' }),
    ]);
    expect(hogged.status).toBe(502);
    expect(hogged.body).toMatchObject({ code: 'ADAPTER_ERROR' });
    expect(echoedAgain.status).toBe(200);

    const recovered = await execute('toggle', {});
    expect(recovered.status).toBe(200);
    expect(recovered.body).toMatchObject({ status: 'succeeded' });
  });

  it("a module's call is given the agent's trace context as ctx.traceparent and ctx.tracestate", async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const traced = await call(gw, 'POST', '/agp/execute', {
      key: tenant.agentKey,
      headers: { traceparent, tracestate: 'agent=on' },
      body: { businessId: 'trace', request: {} },
    });
    expect(traced.status).toBe(200);
    // Tracing is off here: the agent's context, unchanged, as an http business would receive it.
    expect(traced.body.data).toEqual({ traceparent, tracestate: 'agent=on' });
    const untraced = await execute('trace', {});
    expect(untraced.body.data).toEqual({ traceparent: null, tracestate: null });
  });
});
