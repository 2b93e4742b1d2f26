import type { Logger } from 'pino';
import type { AdapterRegistry } from '../../adapters/index.ts';
import type { Config } from '../../config/index.ts';
import type { Store } from '../store/types.ts';
import type { PolicyCache } from './policy-cache.ts';

/** What every service needs, built once by the composition root (gateway/app.ts). */
export interface Services {
  config: Config;
  store: Store;
  adapters: AdapterRegistry;
  logger: Logger;
  policies: PolicyCache;
  /** Epoch ms; injectable so tests can move time. */
  clock: () => number;
}

/** Who is acting, as services see it (no HTTP). */
export interface Actor {
  type: 'operator' | 'member' | 'agent' | 'system';
  id: string | null;
}
