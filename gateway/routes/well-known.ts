import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import type { GatewayEnv } from '../env.ts';
import type { Deps } from '../services/context.ts';
import { route } from './openapi/route.ts';

/**
 * GET /.well-known/warden-keys (DESIGN §9): the receipt signing keys as a JWK Set, current and
 * retired, without auth. Cached briefly: a verifier meeting an unknown `kid` fetches it again.
 */
export function registerWellKnownRoutes(app: OpenAPIHono<GatewayEnv>, deps: Deps): void {
  route(
    app,
    {
      method: 'get',
      path: '/.well-known/warden-keys',
      operationId: 'getReceiptSigningKeys',
      tag: 'Receipts',
      summary: 'The receipt signing keys (JWK Set, RFC 7517)',
      access: { principal: 'public' },
      responses: {
        200: {
          description: 'Current and retired Ed25519 keys',
          schema: z.object({
            keys: z.array(
              z
                .object({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), x: z.string(), kid: z.string() })
                .passthrough(),
            ),
          }),
        },
      },
    },
    async (c) => {
      c.header('Cache-Control', 'public, max-age=60');
      return c.json(await deps.signingKeys.jwks());
    },
  );
}
