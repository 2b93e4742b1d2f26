/**
 * The agent's execute path: prepare a token, admit (decide, reserve, park or queue), forward to the
 * business through its adapter, record the finish; also discover/query and the status an agent polls.
 */
export { admit } from './admission.ts';
export {
  admissionStep,
  admitAndForward,
  decisionInputOf,
  forwardAdmission,
  inDeferredExecute,
} from './admission-workflow.ts';
export { invalidAmount } from './answers.ts';
export { discover, query } from './discover-query.ts';
export { executeRequest, IDEMPOTENCY_TTL_MS } from './execute.ts';
export { forwardAdmitted, recordFinish } from './forward.ts';
export { countDecision } from './observe.ts';
export { markOrphansOnce } from './orphans.ts';
export { prepareExecute } from './prepare.ts';
export { releaseDue } from './release-queued.ts';
export { getTransactionStatus } from './status.ts';
