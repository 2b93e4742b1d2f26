import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { CallerInfo } from './tools/index.ts';

export interface McpSession {
  server: McpServer;
  transport: WebStandardStreamableHTTPServerTransport;
  /** The agent key that opened it: only that key may use it (another gets 404, as for any unknown id). */
  agentKeyId: string;
  lastSeen: number;
  /** The latest request's caller (its context serves the session's own reads, such as tasks/get). */
  latest: { caller: CallerInfo };
}

/**
 * The MCP sessions of this replica (MCP_SESSIONS=memory). A session lives while it is used: one idle
 * past `idleMs` is closed when next looked at or swept, and beyond `max` the least recently used one
 * is closed; its client then gets 404 and, per the Streamable HTTP transport, starts a new session.
 */
export class McpSessions {
  // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
  readonly #sessions = new Map<string, McpSession>();
  readonly #timer: NodeJS.Timeout;

  constructor(private readonly options: { idleMs: number; max: number; clock: () => number }) {
    this.#timer = setInterval(() => this.sweep(), Math.min(options.idleMs, 60_000));
    this.#timer.unref();
  }

  get size(): number {
    return this.#sessions.size;
  }

  add(id: string, session: McpSession): void {
    this.#sessions.set(id, session);
    while (this.#sessions.size > this.options.max) {
      const [oldest] = this.#sessions.keys();
      if (oldest === undefined) break;
      this.end(oldest);
    }
  }

  /** The session `id` of this key, marked used; undefined when unknown, idle too long or another key's. */
  use(id: string, agentKeyId: string): McpSession | undefined {
    const session = this.#sessions.get(id);
    if (!session || session.agentKeyId !== agentKeyId) return undefined;
    const now = this.options.clock();
    if (now - session.lastSeen > this.options.idleMs) {
      this.end(id);
      return undefined;
    }
    session.lastSeen = now;
    this.#sessions.delete(id);
    this.#sessions.set(id, session);
    return session;
  }

  /** Forgets the session (the transport closed it: DELETE) without closing it twice. */
  forget(id: string): void {
    this.#sessions.delete(id);
  }

  end(id: string): void {
    const session = this.#sessions.get(id);
    if (!session) return;
    this.#sessions.delete(id);
    void session.server.close().catch(() => {});
  }

  sweep(): void {
    const now = this.options.clock();
    for (const [id, session] of this.#sessions) {
      if (now - session.lastSeen > this.options.idleMs) this.end(id);
    }
  }

  close(): void {
    clearInterval(this.#timer);
    for (const id of [...this.#sessions.keys()]) this.end(id);
  }
}
