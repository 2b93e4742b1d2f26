/**
 * What the gateway vouches for: signed receipts, the signing keys behind them, and the chained audit log.
 */
export {
  auditEvent,
  type ChainVerdict,
  chainLegacyAudit,
  chainScope,
  listAuditEvents,
  verifyAllChains,
  verifyAuditChain,
  verifyChain,
} from './audit.ts';
export { DIRECTORY_MEDIA_TYPE, type ForwardKeyDirectory, forwardKeyDirectory } from './forward-keys.ts';
export {
  CHECKPOINT_TYP,
  type CheckpointPayload,
  checkpointPayload,
  entryBytes,
  newestCheckpointOf,
  OPERATOR_LOG,
  readCheckpoint,
  readConsistency,
  readEntries,
} from './ledger-log.ts';
export {
  checkReceipt,
  checkServedReceipt,
  getReceiptOf,
  issueReceipt,
  RECEIPTED,
  type ReceiptCheck,
  readReceipt,
  verifyReceiptOf,
} from './receipts.ts';
export { jwkThumbprint, rotateSigningKey, SigningKeys } from './signing-keys.ts';
