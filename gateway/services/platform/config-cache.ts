import type { Conn } from '../../db/types.ts';
import type { AgentKey, Business } from '../../domain/index.ts';
import { configVersion } from '../../repositories/config.ts';
import { getPricing } from '../../repositories/pricing.ts';
import { findAgentKeyByHash, getBusiness, getBusinessAndPolicy } from '../../repositories/tenancy.ts';
import { isWorkspaceArchived } from '../../repositories/workspaces.ts';

interface WorkspacePrices {
  fallback: number;
  agents: Map<string, number>;
}

interface BusinessAndPolicy {
  business: Business;
  policyVersionId: string | null;
}

/**
 * Agent keys, businesses and policy pointers as of one config version (repositories/config.ts).
 * Every request reads the version (one tiny indexed read), and serves these from memory while it is
 * unchanged; any change bumps it in its own transaction, so a revoked key is refused from the next
 * request on, on every replica, as when the key was read on each request (DESIGN §8).
 *
 * A request holds the version it read: entries are used and stored only while the cache is at
 * that version, so a request that started before a change never fills the new version with what
 * it read before.
 */
export class ConfigCache {
  #version = -1;
  readonly #keys = new Map<string, AgentKey>();
  readonly #businesses = new Map<string, BusinessAndPolicy>();
  readonly #plain = new Map<string, Business>();
  /** Whether a workspace is archived (issue 11); archive and restore bump the version. */
  readonly #archived = new Map<string, boolean>();
  /** Evaluation prices per workspace (issue 14): the default and the agents' own. */
  readonly #prices = new Map<string, WorkspacePrices>();

  readonly #listeners: ((version: number) => Promise<void>)[] = [];

  constructor(private readonly maxEntries = 10_000) {}

  /** Called when a request sees the version move (receipt signing keys reload then). */
  onChange(listener: (version: number) => Promise<void>): void {
    this.#listeners.push(listener);
  }

  /**
   * The current version, read from the database; a new one empties the cache. Requests that ask in
   * the same event-loop turn share one read, made after the turn: it is sent after every one of
   * them arrived, so each sees every change committed before it did (a read already sent is never
   * joined). Under load that is one read per turn instead of one per request.
   */
  current(conn: Conn): Promise<number> {
    this.#next ??= new Promise<number>((resolve, reject) => {
      setImmediate(() => {
        this.#next = undefined;
        configVersion(conn).then(async (version) => {
          if (version !== this.#version) {
            const first = this.#version === -1;
            this.#version = version;
            this.#keys.clear();
            this.#businesses.clear();
            this.#plain.clear();
            this.#archived.clear();
            this.#prices.clear();
            // Awaited: a request that sees the new version acts on it (signs with a rotated key).
            if (!first) await Promise.all(this.#listeners.map((listener) => listener(version)));
          }
          resolve(version);
        }, reject);
      });
    });
    return this.#next;
  }

  #next: Promise<number> | undefined;

  async agentKey(conn: Conn, version: number, keyHash: string): Promise<AgentKey | undefined> {
    const fresh = version === this.#version;
    const hit = fresh ? this.#keys.get(keyHash) : undefined;
    if (hit) return hit;
    const key = await findAgentKeyByHash(conn, keyHash);
    // Only keys that exist: a stream of forged keys must not fill memory.
    if (key && fresh && version === this.#version) this.#remember(this.#keys, keyHash, key);
    return key;
  }

  async businessAndPolicy(
    conn: Conn,
    version: number,
    businessId: string,
    workspaceId: string,
    policyName: string,
  ): Promise<BusinessAndPolicy | undefined> {
    const id = `${businessId}\u0000${workspaceId}\u0000${policyName}`;
    const fresh = version === this.#version;
    const hit = fresh ? this.#businesses.get(id) : undefined;
    if (hit) return hit;
    const found = await getBusinessAndPolicy(conn, businessId, workspaceId, policyName);
    if (found && fresh && version === this.#version) this.#remember(this.#businesses, id, found);
    return found;
  }

  async business(conn: Conn, version: number, id: string): Promise<Business | undefined> {
    const fresh = version === this.#version;
    const hit = fresh ? this.#plain.get(id) : undefined;
    if (hit) return hit;
    const found = await getBusiness(conn, id);
    if (found && fresh && version === this.#version) this.#remember(this.#plain, id, found);
    return found;
  }

  /** Only asked for workspaces of keys and tokens that exist, so the map is bounded by real ones. */
  async workspaceArchived(conn: Conn, version: number, workspaceId: string): Promise<boolean> {
    const fresh = version === this.#version;
    const hit = fresh ? this.#archived.get(workspaceId) : undefined;
    if (hit !== undefined) return hit;
    const archived = await isWorkspaceArchived(conn, workspaceId);
    if (fresh && version === this.#version) this.#remember(this.#archived, workspaceId, archived);
    return archived;
  }

  /**
   * The price of one evaluation for `agentId` (its own, else the workspace default), snapshotted on
   * each admitted execute and evaluation (issue 14). A plain number when cached, so the hot path
   * neither queries nor awaits; a promise only on the first call of a config version.
   */
  evaluationPrice(
    conn: Conn,
    version: number,
    workspaceId: string,
    agentId: string,
  ): number | Promise<number> {
    const hit = version === this.#version ? this.#prices.get(workspaceId) : undefined;
    if (hit) return hit.agents.get(agentId) ?? hit.fallback;
    return getPricing(conn, workspaceId).then((pricing) => {
      const prices: WorkspacePrices = {
        fallback: pricing.evaluationPriceMicros,
        agents: new Map(Object.entries(pricing.agents)),
      };
      if (version === this.#version) this.#remember(this.#prices, workspaceId, prices);
      return prices.agents.get(agentId) ?? prices.fallback;
    });
  }

  #remember<V>(map: Map<string, V>, id: string, value: V): void {
    if (map.size >= this.maxEntries) map.clear();
    map.set(id, value);
  }
}
