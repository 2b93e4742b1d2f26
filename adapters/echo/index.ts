import { randomBytes, randomUUID } from 'node:crypto';
import type { Adapter, AdapterResult, Description } from '../types.ts';

/**
 * The `echo` demo business (DESIGN §7): a small catalog, orders that echo the request, a simulated failure
 * and optional adapter-level confirmation. State is in memory and per adapter instance.
 */
export interface EchoAdapterOptions {
  businessId: string;
  /** How long an issued confirmation token stays valid. Default 5 minutes. */
  confirmationTtlMs?: number;
  now?: () => number;
}

export interface CatalogItem {
  sku: string;
  name: string;
  price_cents: number;
  currency: string;
}

export const ECHO_CATALOG: readonly CatalogItem[] = [
  { sku: 'coffee-beans', name: 'Coffee beans, 1 kg', price_cents: 2400, currency: 'USD' },
  { sku: 'espresso-cup', name: 'Espresso cup', price_cents: 900, currency: 'USD' },
  { sku: 'sticker', name: 'Warden sticker', price_cents: 50, currency: 'USD' },
  { sku: 'grinder', name: 'Burr grinder', price_cents: 12900, currency: 'USD' },
];

const MAX_TRACKED = 1_000;

/** `amount_cents`, else `amount`, as a number or numeric string (DESIGN §4, strict mode). */
function requestAmount(request: Record<string, unknown>): number | undefined {
  for (const key of ['amount_cents', 'amount']) {
    const value = request[key];
    if (typeof value === 'number' && Number.isFinite(value)) return value;
    if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
      return Number(value);
  }
  return undefined;
}

function quantityOf(request: Record<string, unknown>): number {
  const q = Number(request.quantity ?? 1);
  return Number.isInteger(q) && q > 0 ? q : 1;
}

/** JSON with sorted keys, so a repeat binds to the same request whatever the key order. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Map that forgets its oldest entries past a bound, so a long-running demo cannot grow without limit. */
function remember<K, V>(map: Map<K, V>, key: K, value: V): void {
  map.set(key, value);
  while (map.size > MAX_TRACKED) {
    const oldest = map.keys().next();
    if (oldest.done) break;
    map.delete(oldest.value);
  }
}

function formatCents(cents: number, currency: string): string {
  return `${(cents / 100).toFixed(2)} ${currency}`;
}

export function createEchoAdapter({
  businessId,
  confirmationTtlMs = 5 * 60_000,
  now = Date.now,
}: EchoAdapterOptions): Adapter {
  const bySku = new Map(ECHO_CATALOG.map((item) => [item.sku, item]));
  /** token → fingerprint of the request it was issued for, and its deadline. */
  const tokens = new Map<string, { fingerprint: string; expiresAt: number }>();
  /** idempotency key → the order answered first, so a retried execute does not order twice. */
  const orders = new Map<string, AdapterResult>();

  function fingerprint(request: Record<string, unknown>): string {
    const bound = Object.entries(request).filter(
      ([k]) => k !== 'confirmationToken' && k !== 'requireConfirmation',
    );
    return stableJson(Object.fromEntries(bound));
  }

  function describe(request: Record<string, unknown>): Description {
    const sku = typeof request.sku === 'string' ? request.sku : undefined;
    const item = sku === undefined ? undefined : bySku.get(sku);
    const quantity = quantityOf(request);
    const amount = requestAmount(request);
    const what = item ? `${quantity} × ${item.name}` : sku ? `${quantity} × ${sku}` : 'an order';
    const summary =
      amount === undefined
        ? `${businessId}: ${what}`
        : `${businessId}: ${what} for ${formatCents(amount, item?.currency ?? 'USD')}`;
    return amount === undefined ? { summary } : { summary, amount, currency: item?.currency ?? 'USD' };
  }

  function placeOrder(request: Record<string, unknown>): AdapterResult {
    const sku = typeof request.sku === 'string' ? request.sku : undefined;
    const item = sku === undefined ? undefined : bySku.get(sku);
    const quantity = quantityOf(request);
    // The amount the agent declared is what policies judged, so it wins over the catalog price.
    const amount_cents = requestAmount(request) ?? (item ? item.price_cents * quantity : 0);
    return {
      status: 'succeeded',
      data: {
        ...request,
        orderId: `ord_${randomUUID()}`,
        businessId,
        sku,
        name: item?.name,
        quantity,
        amount_cents,
        currency: item?.currency ?? 'USD',
        createdAt: new Date(now()).toISOString(),
      },
    };
  }

  return {
    async discover() {
      return { status: 'succeeded', data: { catalog: ECHO_CATALOG.map((item) => ({ ...item })) } };
    },

    async query(request) {
      if (typeof request.sku === 'string') {
        const item = bySku.get(request.sku);
        if (!item) return { status: 'failed', data: { error: `Unknown sku: ${request.sku}` } };
        return { status: 'succeeded', data: { prices: [{ ...item }] } };
      }
      return { status: 'succeeded', data: { prices: ECHO_CATALOG.map((item) => ({ ...item })) } };
    },

    async execute(request, options) {
      if (request.simulate === 'failure') return { status: 'failed', data: { error: 'Simulated failure' } };

      const replay = options.idempotencyKey === undefined ? undefined : orders.get(options.idempotencyKey);
      if (replay) return replay;

      const presented = request.confirmationToken;
      if (presented !== undefined) {
        const issued = typeof presented === 'string' ? tokens.get(presented) : undefined;
        if (typeof presented !== 'string' || !issued || issued.expiresAt <= now()) {
          if (typeof presented === 'string') tokens.delete(presented);
          return { status: 'failed', data: { error: 'Unknown or expired confirmation token' } };
        }
        if (issued.fingerprint !== fingerprint(request)) {
          return { status: 'failed', data: { error: 'Confirmation token does not match this request' } };
        }
        // Single use: a second repeat with the same token is refused.
        tokens.delete(presented);
      } else if (request.requireConfirmation === true) {
        const confirmationToken = `ect_${randomBytes(16).toString('base64url')}`;
        remember(tokens, confirmationToken, {
          fingerprint: fingerprint(request),
          expiresAt: now() + confirmationTtlMs,
        });
        return {
          status: 'pending_confirmation',
          data: {
            confirmationToken,
            summary: describe(request).summary,
            expiresAt: new Date(now() + confirmationTtlMs).toISOString(),
          },
        };
      }

      const result = placeOrder(request);
      if (options.idempotencyKey !== undefined) remember(orders, options.idempotencyKey, result);
      return result;
    },

    describe,
  };
}
