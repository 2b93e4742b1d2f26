/**
 * Who is who: workspaces, members, invites, agent keys, businesses (registration, lifecycle, their own
 * API) and authentication of every kind of key.
 */
export { authenticateAgent, authenticateBusiness, authenticateMember, countAgentRequest } from './auth.ts';
export {
  getOwnBusiness,
  listOwnCalls,
  rotateOwnSigningSecret,
  setOwnAdapter,
  testOwnAdapter,
  updateOwnBusiness,
} from './business-api.ts';
export { revokeBusinessKey, rotateBusinessKey, setBusinessStatus } from './business-lifecycle.ts';
export {
  assertCallable,
  listBusinesses,
  listBusinessesForOperator,
  listWorkspaceBusinesses,
  registerBusiness,
  requireBusiness,
  requireCallableBusiness,
  viewBusiness,
} from './businesses.ts';
export { acceptInvite, createInvite, listInvites, revokeInvite, showInvite } from './invites.ts';
export { ALL_SCOPES, createAgentKey, listAgentKeys, revokeAgentKey } from './keys.ts';
export { changeMemberRole, listMembers, removeMember, rotateMemberToken } from './members.ts';
export {
  archiveWorkspace,
  createMember,
  createWorkspace,
  deleteWorkspace,
  listWorkspaces,
  restoreWorkspace,
} from './workspaces.ts';
