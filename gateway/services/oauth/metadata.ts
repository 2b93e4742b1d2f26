import type { Config } from '../../../config/index.ts';
import { OAUTH_SCOPES } from '../../domain/index.ts';

/**
 * The two protected resources Warden guards with its own authorization server (issue 22): `/mcp`,
 * and the agent API (every other agent route), whose identifier is the gateway's base URL. A token
 * is bound to one of them (RFC 8707 audience) and refused by the other.
 */
export type ProtectedResource = 'mcp' | 'api';

export const issuerOf = (config: Pick<Config, 'publicBaseUrl'>): string => config.publicBaseUrl;

export function resourceId(config: Pick<Config, 'publicBaseUrl'>, which: ProtectedResource): string {
  return which === 'mcp' ? `${config.publicBaseUrl}/mcp` : config.publicBaseUrl;
}

/** RFC 9728 §3.1: the metadata of `/mcp` is at the well-known path with the resource's path appended. */
export function resourceMetadataUrl(config: Pick<Config, 'publicBaseUrl'>, which: ProtectedResource): string {
  const base = `${config.publicBaseUrl}/.well-known/oauth-protected-resource`;
  return which === 'mcp' ? `${base}/mcp` : base;
}

/** Which resource a `resource` parameter names, or undefined when it is not one of ours. */
export function resourceNamed(
  config: Pick<Config, 'publicBaseUrl'>,
  value: string,
): ProtectedResource | undefined {
  if (value === resourceId(config, 'mcp')) return 'mcp';
  if (value === resourceId(config, 'api')) return 'api';
  return undefined;
}

export const endpoints = (config: Pick<Config, 'publicBaseUrl'>) => ({
  authorization: `${config.publicBaseUrl}/oauth/authorize`,
  token: `${config.publicBaseUrl}/oauth/token`,
  revocation: `${config.publicBaseUrl}/oauth/revoke`,
  registration: `${config.publicBaseUrl}/oauth/register`,
});

/** RFC 9728 §2: what a client needs to find the authorization server of a resource. */
export function protectedResourceMetadata(config: Config, which: ProtectedResource) {
  return {
    resource: resourceId(config, which),
    authorization_servers: [issuerOf(config)],
    scopes_supported: [...OAUTH_SCOPES],
    bearer_methods_supported: ['header'],
    resource_name: which === 'mcp' ? 'Warden MCP server' : 'Warden agent API',
    resource_documentation: `${config.publicBaseUrl}/docs`,
  };
}

/** RFC 8414 §2, with the MCP authorization profile's additions (RFC 9207, Client ID Metadata Documents). */
export function authorizationServerMetadata(config: Config) {
  const e = endpoints(config);
  return {
    issuer: issuerOf(config),
    authorization_endpoint: e.authorization,
    token_endpoint: e.token,
    revocation_endpoint: e.revocation,
    ...(config.oauth.dynamicRegistration ? { registration_endpoint: e.registration } : {}),
    scopes_supported: [...OAUTH_SCOPES],
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    // Public clients only: PKCE binds each code to the client that asked for it.
    token_endpoint_auth_methods_supported: ['none'],
    revocation_endpoint_auth_methods_supported: ['none'],
    code_challenge_methods_supported: ['S256'],
    authorization_response_iss_parameter_supported: true,
    client_id_metadata_document_supported: true,
    service_documentation: `${config.publicBaseUrl}/docs`,
  };
}
