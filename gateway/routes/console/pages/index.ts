import type { PageSpec } from '../page.ts';
import approval from './approval.tsx';
import approvals from './approvals.tsx';
import home from './home.tsx';
import transaction from './transaction.tsx';
import transactions from './transactions.tsx';

/**
 * Every console page, one line each: a page is a file in this folder exporting
 * `definePage({...})` (see ../page.ts), and its import plus its entry here.
 */
export const PAGES: PageSpec[] = [home, approvals, approval, transactions, transaction];
