/** The gateway's domain: plain types and the error every layer may use (no I/O, no HTTP). */
export type * from './analytics.ts';
export type * from './approvals.ts';
export type * from './audit.ts';
export * from './errors.ts';
export type * from './ledger.ts';
export { draftTransaction, TRANSACTION_STATUSES } from './ledger.ts';
export type * from './notify.ts';
export * from './oauth.ts';
export type * from './policies.ts';
export type * from './tenancy.ts';
export { BUSINESS_STATUSES, OPERATOR, ROLES, SYSTEM } from './tenancy.ts';
export { storableText, unstorableText } from './text.ts';
