import { Agent } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { createAdapterRegistry, type ModuleAdapterFactory } from '../../adapters/index.ts';
import type { Adapter } from '../../adapters/types.ts';
import { newSigningSecret } from './upstream.ts';

const dispatcher = new Agent();
afterAll(async () => {
  await dispatcher.close();
});

function stubAdapter(onClose?: () => void): Adapter {
  return {
    discover: async () => ({ status: 'succeeded' }),
    query: async () => ({ status: 'succeeded' }),
    execute: async () => ({ status: 'succeeded' }),
    close: async () => onClose?.(),
  };
}

describe('createAdapterRegistry', () => {
  it('builds each kind of adapter', async () => {
    const registry = createAdapterRegistry({ dispatcher, modules: new Map([['stub', () => stubAdapter()]]) });
    const secret = newSigningSecret();
    const echo = registry.adapterFor({ id: 'b1', adapter: { type: 'echo' }, signingSecret: secret });
    expect((await echo.discover({ businessId: 'b1', transactionId: 't' })).status).toBe('succeeded');
    const http = registry.adapterFor({
      id: 'b2',
      adapter: { type: 'http', baseUrl: 'http://127.0.0.1:1' },
      signingSecret: secret,
    });
    expect(typeof http.execute).toBe('function');
    const mod = registry.adapterFor({
      id: 'b3',
      adapter: { type: 'module', name: 'stub' },
      signingSecret: secret,
    });
    expect((await mod.query({}, { businessId: 'b3', transactionId: 't' })).status).toBe('succeeded');
    await registry.close();
  });

  it('caches per business until its config or secret changes', () => {
    const registry = createAdapterRegistry({ dispatcher });
    const secret = newSigningSecret();
    const business = {
      id: 'b1',
      adapter: {
        type: 'http' as const,
        baseUrl: 'http://127.0.0.1:1',
        operations: { query: { method: 'GET' as const, path: '/q' } },
      },
      signingSecret: secret,
    };
    const first = registry.adapterFor(business);
    // An equal config read again from the database (new objects, other key order) hits the cache.
    const again = registry.adapterFor({
      signingSecret: secret,
      adapter: {
        operations: { query: { path: '/q', method: 'GET' } },
        baseUrl: 'http://127.0.0.1:1',
        type: 'http',
      },
      id: 'b1',
    });
    expect(again).toBe(first);
    const moved = registry.adapterFor({
      ...business,
      adapter: { ...business.adapter, baseUrl: 'http://127.0.0.1:2' },
    });
    expect(moved).not.toBe(first);
    const rotated = registry.adapterFor({
      ...business,
      adapter: { ...business.adapter, baseUrl: 'http://127.0.0.1:2' },
      signingSecret: newSigningSecret(),
    });
    expect(rotated).not.toBe(moved);
    // Another business with the same config gets its own adapter.
    expect(registry.adapterFor({ ...business, id: 'b2' })).not.toBe(first);
  });

  it('an unknown module name is a clear error', () => {
    const registry = createAdapterRegistry({
      dispatcher,
      modules: new Map([['known', () => stubAdapter()]]),
    });
    expect(() =>
      registry.adapterFor({
        id: 'b9',
        adapter: { type: 'module', name: 'missing' },
        signingSecret: newSigningSecret(),
      }),
    ).toThrow(/adapter module "missing".*not loaded.*known/);
  });

  it('a module factory that returns no adapter is a clear error', () => {
    const bad = (() => ({})) as unknown as ModuleAdapterFactory;
    const registry = createAdapterRegistry({ dispatcher, modules: new Map([['bad', bad]]) });
    expect(() =>
      registry.adapterFor({
        id: 'b9',
        adapter: { type: 'module', name: 'bad' },
        signingSecret: newSigningSecret(),
      }),
    ).toThrow(/"bad" returned an object without discover, query and execute/);
  });

  it('close() closes current and replaced adapters', async () => {
    let closed = 0;
    const registry = createAdapterRegistry({
      dispatcher,
      modules: new Map([
        ['a', () => stubAdapter(() => (closed += 1))],
        ['b', () => stubAdapter(() => (closed += 1))],
      ]),
    });
    const secret = newSigningSecret();
    registry.adapterFor({ id: 'x', adapter: { type: 'module', name: 'a' }, signingSecret: secret });
    registry.adapterFor({ id: 'x', adapter: { type: 'module', name: 'b' }, signingSecret: secret });
    expect(closed).toBe(0);
    await registry.close();
    expect(closed).toBe(2);
  });
});
