/**
 * Policy documents and versions, the compiled-policy cache, the decision from facts, and simulation.
 */
export { type DecisionInput, decideWith, readsSharedState } from './decide.ts';
export { policyImpact } from './impact.ts';
export {
  checkPolicyDocument,
  compiledVersion,
  DEFAULT_POLICY,
  getPolicy,
  listPolicies,
  listPolicyVersions,
  loadPolicy,
  putPolicy,
} from './policies.ts';
export { PolicyCache } from './policy-cache.ts';
export { simulatePolicy } from './simulate.ts';
export {
  getPolicySourceView,
  linkPolicySource,
  policySyncSender,
  receivePush,
  syncPolicySource,
  unlinkPolicySource,
} from './sources.ts';
