import { createHash } from 'node:crypto';
import type { Dispatcher } from 'undici';
import { createEchoAdapter } from './echo/index.ts';
import { createHttpAdapter } from './http/index.ts';
import type { MessageSigner } from './http/message-signature.ts';
import type { ModuleAdapterFactory } from './module.ts';
import type { Adapter, AdapterConfig } from './types.ts';

export { createEchoAdapter } from './echo/index.ts';
export { checkOutboundUrl, isBlockedAddress } from './egress.ts';
export { createAdapterDispatcher } from './http/dispatcher.ts';
export { createHttpAdapter } from './http/index.ts';
export {
  contentDigest,
  createMessageSigner,
  type MessageSigner,
  type MessageSigningKey,
  signDirectory,
} from './http/message-signature.ts';
export { loadModuleAdapters, type ModuleAdapterFactory } from './module.ts';
export * from './types.ts';

export interface AdapterRegistryOptions {
  /** The shared Agent from `createAdapterDispatcher`; the caller closes it after `close()`. */
  dispatcher: Dispatcher;
  /** Module adapters from `loadModuleAdapters(ADAPTERS_DIR)`. */
  modules?: ReadonlyMap<string, ModuleAdapterFactory>;
  /**
   * Turns a business's signing secret as stored (sealed at rest under SECRETS_KEY, issue 10) into
   * the clear one the http adapter signs with; called once per adapter built, not per request.
   * Without it only plain secrets are accepted: a sealed one is refused, never used as a key.
   */
  openSecret?: (stored: string) => string;
  /** Epoch ms: decides whether a rotated-out signing secret still signs (issue 12). Date.now by default. */
  clock?: () => number;
  /** Issue 24: RFC 9421 signatures on http forwards, under the deployment's key; none when left out. */
  messageSigner?: MessageSigner;
}

export interface RegisteredBusiness {
  id: string;
  adapter: AdapterConfig;
  /** As stored: sealed, or plain (development without SECRETS_KEY); see `openSecret`. */
  signingSecret: string;
  /** The secret before the last rotation (as stored), signed with too until `previousSecretUntil`. */
  previousSigningSecret?: string | null;
  previousSecretUntil?: number | null;
}

export interface AdapterRegistry {
  /** The adapter for a business, built once and reused until its config or secret changes. */
  adapterFor(business: RegisteredBusiness): Adapter;
  /** Whether a module adapter of this name was loaded from ADAPTERS_DIR. */
  hasModule(name: string): boolean;
  /** Closes every adapter built so far (not the dispatcher, which the caller owns). */
  close(): Promise<void>;
}

/** Object keys sorted, so the same config always gives the same fingerprint. */
function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value).sort();
    const record = value as Record<string, unknown>;
    return `{${keys
      .filter((k) => record[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${sortedJson(record[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function fingerprintOf(business: RegisteredBusiness): string {
  // Over the secret as stored: no decryption to look an adapter up, and hashed so the cache key
  // does not keep a plain (development) secret in a second place. A reseal builds the adapter again.
  return createHash('sha256')
    .update(sortedJson(business.adapter))
    .update('\0')
    .update(business.signingSecret)
    .update('\0')
    .update(`${business.previousSigningSecret ?? ''}\0${business.previousSecretUntil ?? ''}`)
    .digest('hex');
}

function assertAdapter(value: unknown, moduleName: string): asserts value is Adapter {
  const ok =
    typeof value === 'object' &&
    value !== null &&
    ['discover', 'query', 'execute'].every(
      (m) => typeof (value as Record<string, unknown>)[m] === 'function',
    );
  if (!ok) {
    throw new Error(`Adapter module "${moduleName}" returned an object without discover, query and execute.`);
  }
}

/** The sealed-value prefix of gateway/crypto/sealing.ts (adapters/ imports nothing of gateway/). */
const SEALED_PREFIX = 'enc:';

function refuseSealed(stored: string): string {
  if (stored.startsWith(SEALED_PREFIX)) {
    throw new Error('A business signing secret is sealed, and this adapter registry has no openSecret.');
  }
  return stored;
}

export function createAdapterRegistry({
  dispatcher,
  modules = new Map(),
  openSecret = refuseSealed,
  clock = Date.now,
  messageSigner,
}: AdapterRegistryOptions): AdapterRegistry {
  const cache = new Map<string, { fingerprint: string; adapter: Adapter }>();
  const byObject = new WeakMap<RegisteredBusiness, Adapter>();
  const retired: Adapter[] = [];

  function build(business: RegisteredBusiness): Adapter {
    const config = business.adapter;
    switch (config.type) {
      case 'http':
        return createHttpAdapter({
          businessId: business.id,
          config,
          // Opened here, only for the adapter that signs: an echo or module business keeps working
          // even if its stored secret could not be opened.
          signingSecret: openSecret(business.signingSecret),
          ...(business.previousSigningSecret && business.previousSecretUntil
            ? {
                previous: {
                  signingSecret: openSecret(business.previousSigningSecret),
                  validUntil: business.previousSecretUntil,
                },
                clock,
              }
            : {}),
          ...(messageSigner ? { messageSigner } : {}),
          dispatcher,
        });
      case 'echo':
        return createEchoAdapter({ businessId: business.id });
      case 'module': {
        const factory = modules.get(config.name);
        if (!factory) {
          const known = [...modules.keys()].sort().join(', ') || 'none';
          throw new Error(
            `Business ${business.id} uses adapter module "${config.name}", which is not loaded from ADAPTERS_DIR (loaded: ${known}).`,
          );
        }
        // The secret is opened only if the module signs a ctx.fetch (issue 12), never sent to its worker.
        const adapter = factory({
          businessId: business.id,
          dispatcher,
          signingSecret: () => openSecret(business.signingSecret),
        });
        assertAdapter(adapter, config.name);
        return adapter;
      }
    }
  }

  return {
    hasModule: (name) => modules.has(name),

    adapterFor(business) {
      // The same business object (the gateway caches it per config version) gets the same adapter
      // without fingerprinting it again.
      const known = byObject.get(business);
      if (known) return known;
      const fingerprint = fingerprintOf(business);
      const cached = cache.get(business.id);
      if (cached && cached.fingerprint === fingerprint) {
        byObject.set(business, cached.adapter);
        return cached.adapter;
      }
      const adapter = build(business);
      byObject.set(business, adapter);
      // Requests in flight may still hold the old adapter, so it is closed with the registry, not now.
      if (cached?.adapter.close) retired.push(cached.adapter);
      cache.set(business.id, { fingerprint, adapter });
      return adapter;
    },

    async close() {
      const adapters = [...retired, ...[...cache.values()].map((c) => c.adapter)];
      cache.clear();
      retired.length = 0;
      await Promise.allSettled(adapters.map((a) => a.close?.()));
    },
  };
}
