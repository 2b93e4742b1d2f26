import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import type { GatewayEnv } from '../env.ts';
import { route } from '../routes/openapi/route.ts';
import type { Deps } from '../services/context.ts';
import { checkAuthorizationRequest, isProblem } from '../services/oauth/index.ts';
import { MessageBody, PublicLayout } from './views/layout.tsx';

/**
 * GET /oauth/authorize (issue 22, RFC 6749 §3.1): the authorization endpoint. It checks the request
 * before anyone signs in: an unknown client or a redirect URI that is not exactly one of the
 * client's is shown to the person (never redirected to: no open redirect), any other error goes back
 * to the client's redirect URI with `iss`; a valid request goes on to the console's consent page,
 * through sign-in when there is no session.
 */
export function registerOAuthAuthorize(app: OpenAPIHono<GatewayEnv>, deps: Deps): void {
  const text = z.string().max(2_048).optional();
  route(
    app,
    {
      method: 'get',
      path: '/oauth/authorize',
      operationId: 'oauthAuthorizePage',
      tag: 'OAuth',
      summary: 'Authorization endpoint: on to the console’s consent page (RFC 6749 §4.1.1)',
      description:
        'Authorization code with PKCE: `response_type=code`, `client_id` (a Client ID Metadata Document URL or a registered id), `redirect_uri` (exactly one of the client’s), `code_challenge` with `code_challenge_method=S256`, `resource` (RFC 8707: this server’s /mcp or its base URL), optional `scope` (discover query execute) and `state`. The answer to the client carries `iss` (RFC 9207).',
      access: { principal: 'public' },
      query: z.object({
        response_type: text,
        client_id: text,
        redirect_uri: text,
        state: text,
        code_challenge: text,
        code_challenge_method: text,
        resource: text,
        scope: text,
      }),
      errors: ['DATABASE_UNAVAILABLE'],
      responses: {
        303: { description: 'On to the consent page, or back to the client with an error (and `iss`)' },
        400: {
          description: 'The client or its redirect URI is not valid: shown, never redirected to',
          html: true,
        },
      },
    },
    async (c) => {
      const url = new URL(c.req.url);
      const input = Object.fromEntries(url.searchParams.entries());
      const result = await checkAuthorizationRequest({ deps, input });
      if (!isProblem(result)) return c.redirect(`/console/oauth/authorize${url.search}`, 303);
      if (result.redirect) return c.redirect(result.redirect, 303);
      const title = 'This authorization request cannot be used';
      return c.html(
        <PublicLayout title={title}>
          <MessageBody
            title={title}
            message={`${result.error.description} Nothing was authorised; go back to the application and try again.`}
          />
        </PublicLayout>,
        400,
        { 'Cache-Control': 'no-store', 'X-Frame-Options': 'DENY' },
      );
    },
  );
}
