import type { PageSpec } from '../page.ts';
import audit from './audit.tsx';
import businesses from './businesses.tsx';
import home from './home.tsx';
import keys from './keys.tsx';
import members from './members.tsx';
import policy from './policy.tsx';
import webhooks from './webhooks.tsx';

/**
 * Every console page, one line each: a page is a file in this folder exporting
 * `definePage({...})` (see ../page.ts), and its import plus its entry here.
 */
export const PAGES: PageSpec[] = [home, policy, keys, members, webhooks, businesses, audit];
