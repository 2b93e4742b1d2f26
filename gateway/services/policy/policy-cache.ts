import type { CompiledPolicy } from '../../../policy/index.ts';

/**
 * Compiled policies by version id (versions are immutable, so an entry never goes stale).
 * Bounded: the least recently used entry leaves first.
 */
export class PolicyCache {
  readonly #entries = new Map<string, CompiledPolicy>();
  constructor(private readonly capacity = 1000) {}

  get(versionId: string): CompiledPolicy | undefined {
    const hit = this.#entries.get(versionId);
    if (hit) {
      this.#entries.delete(versionId);
      this.#entries.set(versionId, hit);
    }
    return hit;
  }

  set(versionId: string, policy: CompiledPolicy): void {
    this.#entries.set(versionId, policy);
    if (this.#entries.size > this.capacity) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }
}
