import type { Conn } from '../../db/types.ts';
import { listWebhooks } from '../../repositories/outbox.ts';

/**
 * Which webhooks a workspace has, kept for a second: every execute emits transaction.completed, and
 * most workspaces have no webhook, so the lookup stays off the hot path. A change made here clears
 * the entry at once; on another replica it takes effect within the second.
 */
export class Subscriptions {
  readonly #entries = new Map<string, { at: number; hooks: { id: string; events: string[] }[] }>();
  constructor(private readonly ttlMs = 1000) {}

  async get(conn: Conn, workspaceId: string) {
    const hit = this.#entries.get(workspaceId);
    const wall = Date.now();
    if (hit && wall - hit.at < this.ttlMs) return hit.hooks;
    const hooks = (await listWebhooks(conn, workspaceId)).map((h) => ({ id: h.id, events: h.events }));
    if (this.#entries.size > 10_000) this.#entries.clear();
    this.#entries.set(workspaceId, { at: wall, hooks });
    return hooks;
  }

  forget(workspaceId: string): void {
    this.#entries.delete(workspaceId);
  }
}
