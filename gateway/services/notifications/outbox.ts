import type { OutboxItem } from '../../domain/index.ts';
import { PermanentDeliveryError } from '../../notify/delivery.ts';
import { claimOutbox, completeOutbox, failOutbox } from '../../repositories/outbox.ts';
import { type Deps, jobContext, type ServiceContext } from '../context.ts';

/** One function per outbox kind; each resolves when delivered and throws when it should be retried. */
export interface Senders {
  email(item: OutboxItem): Promise<void>;
  webhook(item: OutboxItem): Promise<void>;
  callback(item: OutboxItem): Promise<void>;
  /** Issue 23: approval messages in Slack and Teams, and policy syncs from Git. */
  slack(item: OutboxItem): Promise<void>;
  teams(item: OutboxItem): Promise<void>;
  policy_sync(item: OutboxItem): Promise<void>;
}

export interface OutboxOptions {
  /** Items claimed per round. */
  batch?: number;
  /** How long a claimed item is hidden from others; a crash mid-delivery re-delivers after it. */
  leaseMs?: number;
  /** Attempts in all, the first included; after the last failure the item is failed for good. */
  maxAttempts?: number;
  /** The first retry waits this long; each next one twice as long. */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export const OUTBOX_DEFAULTS = {
  batch: 20,
  leaseMs: 60_000,
  maxAttempts: 8,
  baseDelayMs: 1_000,
  maxDelayMs: 10 * 60_000,
} as const satisfies Required<OutboxOptions>;

/** When attempt `attempts + 1` failed: the next try, or null when there is none left. */
export function nextAttemptAt(
  attempts: number,
  now: number,
  options: Pick<OutboxOptions, 'maxAttempts' | 'baseDelayMs' | 'maxDelayMs'> = {},
): number | null {
  const maxAttempts = options.maxAttempts ?? OUTBOX_DEFAULTS.maxAttempts;
  const base = options.baseDelayMs ?? OUTBOX_DEFAULTS.baseDelayMs;
  const cap = options.maxDelayMs ?? OUTBOX_DEFAULTS.maxDelayMs;
  if (attempts + 1 >= maxAttempts) return null;
  return now + Math.min(base * 2 ** attempts, cap);
}

export interface DeliveryRound {
  delivered: number;
  retrying: number;
  failed: number;
}

/**
 * Claims the due deliveries: one conditional update moves their next attempt a lease ahead, so no
 * other process takes them meanwhile.
 */
export function claimDeliveries({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { batch: number; leaseMs: number };
}): Promise<OutboxItem[]> {
  const { deps } = ctx;
  const now = deps.clock();
  return deps.db.transaction({}, (tx) => claimOutbox(tx, now, input.batch, input.leaseMs));
}

/** A delivery made: it leaves the queue. */
export async function completeDelivery({ ctx, input }: { ctx: ServiceContext; input: { id: string } }) {
  const { deps } = ctx;
  const at = deps.clock();
  await deps.db.transaction({}, (tx) => completeOutbox(tx, input.id, at));
}

/** A delivery failed: tried again at `retryAt`, or failed for good when that is null. */
export async function failDelivery({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { id: string; message: string; at: number; retryAt: number | null };
}) {
  await ctx.deps.db.transaction({}, (tx) => failOutbox(tx, input.id, input.message, input.at, input.retryAt));
}

/**
 * One round of the durable outbox (DESIGN §2, §5): claims the due items (one conditional update
 * moves their next attempt a lease ahead, so no other process takes them), delivers them in
 * parallel, and records each outcome: delivered, retried with exponential backoff, or failed for
 * good after the last attempt. Everything lives in the database, so nothing is lost in a restart.
 */
export async function deliverDue(
  deps: Deps,
  senders: Senders,
  options: OutboxOptions = {},
): Promise<DeliveryRound> {
  const ctx = jobContext(deps, 'outbox');
  const batch = options.batch ?? OUTBOX_DEFAULTS.batch;
  const leaseMs = options.leaseMs ?? OUTBOX_DEFAULTS.leaseMs;
  const items = await claimDeliveries({ ctx, input: { batch, leaseMs } });
  const round: DeliveryRound = { delivered: 0, retrying: 0, failed: 0 };
  await Promise.all(
    items.map(async (item) => {
      try {
        await senders[item.kind](item);
        await completeDelivery({ ctx, input: { id: item.id } });
        round.delivered += 1;
      } catch (error) {
        const at = deps.clock();
        const message = error instanceof Error ? error.message || error.name : String(error);
        const retryAt =
          error instanceof PermanentDeliveryError ? null : nextAttemptAt(item.attempts, at, options);
        await failDelivery({ ctx, input: { id: item.id, message, at, retryAt } });
        if (retryAt === null) round.failed += 1;
        else round.retrying += 1;
        deps.logger[retryAt === null ? 'warn' : 'info'](
          { outboxId: item.id, kind: item.kind, attempt: item.attempts + 1, error: message, retryAt },
          retryAt === null ? 'delivery failed for good' : 'delivery failed; will retry',
        );
      }
    }),
  );
  return round;
}
