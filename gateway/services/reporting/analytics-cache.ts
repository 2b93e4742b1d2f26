import type { Analytics } from '../../domain/analytics.ts';

/** One workspace's analytics for one range, as computed at `at` with `newest` the last transaction. */
export interface RecentAnalytics {
  at: number;
  newest: string | null;
  value: Analytics;
}

/**
 * The analytics the console overview reuses (recentAnalytics), per workspace and range. Built once by
 * the composition root and held in Deps, so every copy of Deps shares it and nothing hides in a
 * module; bounded, as ranges come from requests.
 */
export class AnalyticsCache {
  readonly #entries = new Map<string, RecentAnalytics>();

  get(key: string): RecentAnalytics | undefined {
    return this.#entries.get(key);
  }

  set(key: string, entry: RecentAnalytics): void {
    if (this.#entries.size >= 1_000) this.#entries.clear();
    this.#entries.set(key, entry);
  }
}
