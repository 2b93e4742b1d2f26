/**
 * Reading the ledger back: transaction lists and summaries, hourly rollups, analytics and pricing.
 */
export { computeAnalytics, recentAnalytics } from './analytics.ts';
export { AnalyticsCache } from './analytics-cache.ts';
export { getPricing, updatePricing } from './pricing.ts';
export {
  getTransaction,
  listTransactions,
  resolveTransaction,
  summarize,
  viewTransaction,
} from './transactions.ts';
