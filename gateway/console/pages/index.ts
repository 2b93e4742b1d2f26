import type { PageSpec } from '../page.ts';
import approval from './approval.tsx';
import approvals from './approvals.tsx';
import audit from './audit.tsx';
import businesses from './businesses.tsx';
import policyHelp from './help/policy.tsx';
import home from './home.tsx';
import keys from './keys.tsx';
import members from './members.tsx';
import oauthClients from './oauth-clients.tsx';
import oauthConsent from './oauth-consent.tsx';
import policy from './policy/index.tsx';
import sso from './sso.tsx';
import transaction from './transaction.tsx';
import transactions from './transactions.tsx';
import webhooks from './webhooks.tsx';

/**
 * Every console page, one line each: a page is a file in this folder exporting `definePage({...})`
 * (see ../page.ts), or a folder whose index.tsx does, with its sections beside it (policy/), and its
 * import plus its entry here.
 */
export const PAGES: PageSpec[] = [
  home,
  approvals,
  approval,
  transactions,
  transaction,
  policy,
  policyHelp,
  keys,
  oauthClients,
  oauthConsent,
  members,
  webhooks,
  sso,
  businesses,
  audit,
];
