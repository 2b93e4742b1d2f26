// The worker side of a module adapter (DESIGN §7, issue 12): one worker_threads Worker per adapter.
// Plain JavaScript so it runs the same under tsx (tests, `npm start`) and compiled (dist/, where the
// build copies it): the parent starts it with `execArgv: []` and `env: {}`, so it sees neither the
// gateway's loader flags nor its environment (SECRETS_KEY, WARDEN_ADMIN_TOKEN, DATABASE_URL).
// Protocol, structured-cloned (JSON-safe data only); the host is adapters/module-host.ts.
import { parentPort, workerData } from 'node:worker_threads';

const { mode, url, businessId } = workerData;
const port = parentPort;

/** fetch id → {resolve, reject} of a ctx.fetch the parent performs. */
const fetches = new Map();
/** call id → AbortController behind that call's ctx.signal. */
const calls = new Map();
let nextFetchId = 1;

function errorInfo(err) {
  if (typeof err === 'object' && err !== null) {
    const e = err;
    return {
      name: typeof e.name === 'string' ? e.name : 'Error',
      message: typeof e.message === 'string' ? e.message : String(err),
      code: typeof e.code === 'string' ? e.code : undefined,
      mayHaveActed: typeof e.mayHaveActed === 'boolean' ? e.mayHaveActed : undefined,
      upstreamStatus: typeof e.upstreamStatus === 'number' ? e.upstreamStatus : undefined,
    };
  }
  return { name: 'Error', message: String(err) };
}

/**
 * The only way out of the worker: the parent performs the request with the gateway's egress-checked
 * undici dispatcher (signed with the business's Standard Webhooks secret when `init.sign` is true) and
 * posts the answer back. Same shape as WHATWG fetch; the body is buffered both ways.
 */
async function gatewayFetch(input, init = {}, callId = undefined) {
  const { sign, ...rest } = init ?? {};
  const request = new Request(input, rest);
  const body =
    request.method === 'GET' || request.method === 'HEAD'
      ? undefined
      : new Uint8Array(await request.arrayBuffer());
  const id = nextFetchId++;
  const answer = new Promise((resolve, reject) => fetches.set(id, { resolve, reject }));
  port.postMessage({
    type: 'fetch',
    id,
    callId,
    url: request.url,
    method: request.method,
    headers: [...request.headers],
    body: body && body.byteLength > 0 ? body : undefined,
    sign: sign === true,
  });
  const onAbort = () => port.postMessage({ type: 'fetch-abort', id });
  request.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const res = await answer;
    const nullBody =
      res.status === 204 || res.status === 205 || res.status === 304 || request.method === 'HEAD';
    return new Response(nullBody ? null : res.body, {
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
    });
  } finally {
    request.signal.removeEventListener('abort', onAbort);
  }
}

// Modules must reach the network through ctx.fetch; the global fetch is the same function, so code that
// calls fetch() goes through the gateway's egress check too. ctx.fetch names its call, so the host knows
// which call may have acted; the global one (and the factory's) counts for every call in flight. (No
// AsyncLocalStorage: it would slow every promise in the worker.) node:http and node:net are not blocked:
// a worker isolates memory, environment and faults, it is not a sandbox for hostile code (README).
globalThis.fetch = (input, init) => gatewayFetch(input, init);

async function loadFactory() {
  let loaded;
  if (url.endsWith('.ts')) {
    // No loader flags reach the worker; tsx (a dev dependency) strips the types of a .ts module.
    const { tsImport } = await import('tsx/esm/api');
    loaded = await tsImport(url, import.meta.url);
  } else {
    loaded = await import(url);
  }
  const factory = loaded.default;
  // A .ts file outside a "type": "module" package is compiled as CommonJS: its default export is one
  // level down.
  if (typeof factory === 'object' && factory !== null && typeof factory.default === 'function') {
    return factory.default;
  }
  return factory;
}

if (mode === 'probe') {
  // At start, loadModuleAdapters checks each file in a worker of its own: its top level never runs in
  // the gateway's thread.
  try {
    const factory = await loadFactory();
    port.postMessage({ type: 'probed', isFactory: typeof factory === 'function' });
  } catch (err) {
    port.postMessage({ type: 'probed', error: errorInfo(err) });
  }
} else {
  const adapter = (async () => {
    const factory = await loadFactory();
    if (typeof factory !== 'function') throw new Error('the module does not default-export a factory');
    const made = await factory({ businessId, fetch: globalThis.fetch });
    const ok =
      typeof made === 'object' &&
      made !== null &&
      ['discover', 'query', 'execute'].every((m) => typeof made[m] === 'function');
    if (!ok) throw new Error('the factory returned an object without discover, query and execute');
    return made;
  })();
  // A load failure is reported once, as init-error, below.
  adapter.catch(() => {});

  async function run(message) {
    const controller = new AbortController();
    calls.set(message.id, controller);
    try {
      const a = await adapter;
      const ctx = message.ctx;
      ctx.signal = controller.signal;
      ctx.fetch = (input, init) => gatewayFetch(input, init, message.id);
      const result =
        message.op === 'discover'
          ? await a.discover(ctx)
          : message.op === 'query'
            ? await a.query(message.request, ctx)
            : await a.execute(message.request, message.options, ctx);
      try {
        port.postMessage({ type: 'result', id: message.id, result });
      } catch (err) {
        // A result with functions or other uncloneable values.
        port.postMessage({ type: 'result', id: message.id, error: errorInfo(err), unclonable: true });
      }
    } catch (err) {
      port.postMessage({ type: 'result', id: message.id, error: errorInfo(err) });
    } finally {
      calls.delete(message.id);
    }
  }

  port.on('message', (message) => {
    switch (message.type) {
      case 'call':
        void run(message);
        break;
      case 'cancel':
        calls.get(message.id)?.abort();
        break;
      case 'fetched': {
        const pending = fetches.get(message.id);
        if (!pending) break;
        fetches.delete(message.id);
        if (message.error) {
          const err = new TypeError('fetch failed', {
            cause: Object.assign(new Error(message.error.message), { code: message.error.code }),
          });
          pending.reject(err);
        } else {
          pending.resolve(message);
        }
        break;
      }
    }
  });
  adapter.then(
    () => port.postMessage({ type: 'ready' }),
    // The host fails every call with this and stops the worker.
    (err) => port.postMessage({ type: 'init-error', error: errorInfo(err) }),
  );
}
