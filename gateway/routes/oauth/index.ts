import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { z } from 'zod';
import { OAuthError } from '../../domain/index.ts';
import type { GatewayEnv } from '../../env.ts';
import type { Deps } from '../../services/context.ts';
import {
  authorizationServerMetadata,
  exchangeCode,
  protectedResourceMetadata,
  refreshTokens,
  registerClient,
  revokeToken,
} from '../../services/oauth/index.ts';
import { route } from '../openapi/route.ts';
import { readJson } from '../validate.ts';

const tag = 'OAuth';

/** RFC 6749 §5.2 (and the gateway's envelope for a request refused before the endpoint ran). */
const oauthError = z
  .object({
    error: z.string().describe('An RFC 6749 §5.2 error code (invalid_grant, invalid_request …).'),
    error_description: z.string().optional(),
  })
  .passthrough();

const resourceMetadata = z
  .object({
    resource: z.string(),
    authorization_servers: z.array(z.string()),
    scopes_supported: z.array(z.string()),
    bearer_methods_supported: z.array(z.string()),
  })
  .passthrough();

const serverMetadata = z
  .object({
    issuer: z.string(),
    authorization_endpoint: z.string(),
    token_endpoint: z.string(),
    revocation_endpoint: z.string(),
    registration_endpoint: z.string().optional(),
    code_challenge_methods_supported: z.array(z.literal('S256')),
    authorization_response_iss_parameter_supported: z.literal(true),
    client_id_metadata_document_supported: z.literal(true),
  })
  .passthrough();

const tokenAnswer = z.object({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int(),
  refresh_token: z.string(),
  scope: z.string(),
});

/** RFC 6749 §5.1: token answers are never cached. */
const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

/** The form fields of an OAuth endpoint (application/x-www-form-urlencoded, RFC 6749 §3.2). */
async function formFields(c: Context<GatewayEnv>): Promise<Record<string, string | undefined>> {
  const type = c.req.header('content-type') ?? '';
  if (!type.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    throw new OAuthError('invalid_request', 'The body must be application/x-www-form-urlencoded.');
  }
  const params = new URLSearchParams(await c.req.text());
  const out: Record<string, string | undefined> = {};
  for (const name of new Set(params.keys())) {
    // RFC 6749 §3.1: a parameter sent more than once is an invalid request.
    if (params.getAll(name).length > 1) throw new OAuthError('invalid_request', `${name} is repeated.`);
    out[name] = params.get(name) ?? undefined;
  }
  return out;
}

/** An OAuth endpoint's answer to a refusal: RFC 6749 §5.2 JSON, 401 with a challenge for invalid_client. */
function answerOAuthError(c: Context<GatewayEnv>, error: unknown): Response {
  if (!(error instanceof OAuthError)) throw error;
  const headers: Record<string, string> = { ...NO_STORE };
  if (error.status === 401) headers['WWW-Authenticate'] = 'Bearer';
  return c.json(error.body, error.status, headers);
}

/**
 * Warden as the OAuth authorization server of /mcp and the agent API (issue 22): the metadata a
 * client discovers it by, and the token, revocation and registration endpoints. The authorization
 * endpoint and the consent page are the console's (gateway/console/oauth).
 */
export function registerOAuthRoutes(app: OpenAPIHono<GatewayEnv>, deps: Deps): void {
  const publicAccess = { principal: 'public' } as const;

  for (const [path, which] of [
    ['/.well-known/oauth-protected-resource', 'api'],
    ['/.well-known/oauth-protected-resource/mcp', 'mcp'],
  ] as const) {
    route(
      app,
      {
        method: 'get',
        path,
        operationId: which === 'mcp' ? 'getMcpProtectedResourceMetadata' : 'getProtectedResourceMetadata',
        tag,
        summary:
          which === 'mcp'
            ? 'Protected resource metadata of /mcp (RFC 9728)'
            : 'Protected resource metadata of the agent API (RFC 9728)',
        description:
          'Where to get an OAuth access token for this resource; a 401 from it names this document in `WWW-Authenticate: Bearer resource_metadata=…`.',
        access: publicAccess,
        responses: { 200: { description: 'The metadata', schema: resourceMetadata } },
      },
      (c) => {
        c.header('Cache-Control', 'public, max-age=300');
        return c.json(protectedResourceMetadata(deps.config, which));
      },
    );
  }

  route(
    app,
    {
      method: 'get',
      path: '/.well-known/oauth-authorization-server',
      operationId: 'getAuthorizationServerMetadata',
      tag,
      summary: 'Authorization server metadata (RFC 8414)',
      description:
        'Authorization code with PKCE (S256), resource indicators, RFC 9207 `iss`, Client ID Metadata Documents, and dynamic registration unless OAUTH_DYNAMIC_REGISTRATION=false.',
      access: publicAccess,
      responses: { 200: { description: 'The metadata', schema: serverMetadata } },
    },
    (c) => {
      c.header('Cache-Control', 'public, max-age=300');
      return c.json(authorizationServerMetadata(deps.config));
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/oauth/token',
      operationId: 'oauthToken',
      tag,
      summary: 'Token endpoint: a code or a refresh token for tokens (RFC 6749 §3.2)',
      description:
        'Form-encoded. `grant_type=authorization_code` with `code`, `redirect_uri`, `client_id`, `code_verifier` (PKCE) and optionally `resource`; or `grant_type=refresh_token` with `refresh_token` and `client_id`. A refresh token is used once: a new one comes with every answer, and presenting a used one revokes the whole grant. A code presented twice revokes it too.',
      access: publicAccess,
      errors: ['DATABASE_UNAVAILABLE'],
      responses: {
        200: { description: 'An access token (short-lived) and a new refresh token', schema: tokenAnswer },
        400: {
          description: 'invalid_request, invalid_grant, invalid_target, unsupported_grant_type',
          schema: oauthError,
        },
      },
    },
    async (c) => {
      try {
        const form = await formFields(c);
        let answer: Awaited<ReturnType<typeof exchangeCode>>;
        if (form.grant_type === 'authorization_code') answer = await exchangeCode({ deps, input: form });
        else if (form.grant_type === 'refresh_token') answer = await refreshTokens({ deps, input: form });
        else
          throw new OAuthError(
            'unsupported_grant_type',
            'grant_type must be authorization_code or refresh_token.',
          );
        return c.json(answer, 200, NO_STORE);
      } catch (error) {
        return answerOAuthError(c, error);
      }
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/oauth/revoke',
      operationId: 'oauthRevoke',
      tag,
      summary: 'Revokes a token (RFC 7009)',
      description:
        'Form-encoded `token` and `client_id`. A refresh token ends its whole grant; an access token only itself. An unknown token is answered 200 as RFC 7009 §2.2 says.',
      access: publicAccess,
      errors: ['DATABASE_UNAVAILABLE'],
      responses: {
        200: { description: 'Revoked, or unknown' },
        400: {
          description: 'invalid_request, unauthorized_client (another client’s token)',
          schema: oauthError,
        },
      },
    },
    async (c) => {
      try {
        await revokeToken({ deps, input: await formFields(c) });
        return c.body(null, 200, NO_STORE);
      } catch (error) {
        return answerOAuthError(c, error);
      }
    },
  );

  route(
    app,
    {
      method: 'post',
      path: '/oauth/register',
      operationId: 'oauthRegisterClient',
      tag,
      summary: 'Dynamic client registration (RFC 7591)',
      description:
        'For clients that cannot publish a Client ID Metadata Document. Public clients only (`token_endpoint_auth_method: none`). Turned off with OAUTH_DYNAMIC_REGISTRATION=false (403).',
      access: publicAccess,
      body: z.object({ redirect_uris: z.array(z.string()) }).passthrough(),
      errors: ['DATABASE_UNAVAILABLE'],
      responses: {
        201: {
          description: 'The client, registered',
          schema: z
            .object({
              client_id: z.string(),
              client_id_issued_at: z.number().int(),
              redirect_uris: z.array(z.string()),
              token_endpoint_auth_method: z.literal('none'),
            })
            .passthrough(),
        },
        400: { description: 'invalid_client_metadata, invalid_redirect_uri', schema: oauthError },
        403: { description: 'access_denied: dynamic registration is turned off', schema: oauthError },
      },
    },
    async (c) => {
      try {
        const body = await readJson(c);
        if (!body.ok) throw new OAuthError('invalid_client_metadata', 'The body must be a JSON object.');
        return c.json(await registerClient({ deps, input: body.value }), 201, NO_STORE);
      } catch (error) {
        return answerOAuthError(c, error);
      }
    },
  );
}
