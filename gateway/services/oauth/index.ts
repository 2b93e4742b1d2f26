/**
 * Warden as the OAuth 2.1 authorization server of its own resources, /mcp and the agent API
 * (issue 22): metadata (RFC 8414, RFC 9728), clients (Client ID Metadata Documents, RFC 7591),
 * the authorization code with PKCE and resource indicators, rotating refresh tokens, revocation
 * (RFC 7009), and the access token acting as an agent key.
 */
export { authenticateOAuthAccess, InvalidTokenError, isOAuthAccessToken } from './access.ts';
export {
  type AuthorizationProblem,
  type AuthorizationRequest,
  approveAuthorization,
  checkAuthorizationRequest,
  denyAuthorization,
  isProblem,
} from './authorize.ts';
export { type OAuthClient, type RegisteredClient, registerClient } from './clients.ts';
export { type AuthorizedClient, listAuthorizedClients, revokeAuthorizedClient } from './grants.ts';
export {
  authorizationServerMetadata,
  type ProtectedResource,
  protectedResourceMetadata,
  resourceId,
  resourceMetadataUrl,
} from './metadata.ts';
export { exchangeCode, refreshTokens, revokeToken, type TokenAnswer } from './token.ts';
