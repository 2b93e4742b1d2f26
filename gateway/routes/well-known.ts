import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import type { GatewayEnv } from '../env.ts';
import { type Deps, systemContext } from '../services/context.ts';
import { DIRECTORY_MEDIA_TYPE, forwardKeyDirectory } from '../services/ledger/index.ts';
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

  route(
    app,
    {
      method: 'get',
      path: '/.well-known/http-message-signatures-directory',
      operationId: 'getHttpMessageSignaturesDirectory',
      tag: 'Business',
      summary: 'The keys that sign forwarded requests (HTTP Message Signatures directory)',
      description:
        'Every forward to a business carries an RFC 9421 signature (`Signature-Input`, `Signature`, `Signature-Agent` naming this gateway) under one of these Ed25519 keys, its `keyid` the JWK thumbprint (RFC 7638). Web Bot Auth directory format; the answer is signed by each key it lists. A key retired by a rotation stays listed for FORWARD_SIGNING_KEY_OVERLAP_SECONDS.',
      access: { principal: 'public' },
      responses: {
        200: {
          description: 'The current key and those retired within the overlap',
          mediaType: DIRECTORY_MEDIA_TYPE,
          schema: z.object({
            keys: z.array(
              z.object({
                kty: z.literal('OKP'),
                crv: z.literal('Ed25519'),
                x: z.string(),
                kid: z.string().describe('The JWK SHA-256 thumbprint, the `keyid` of signatures.'),
                use: z.literal('sig'),
              }),
            ),
          }),
          headers: z.object({
            'Signature-Input': z.string().describe('One `bindingN` per listed key, over `"@authority";req`.'),
            Signature: z.string().describe('The signature of each binding (RFC 9421).'),
          }),
        },
      },
    },
    async (c) => {
      const authority = new URL(c.req.url).host;
      const directory = await forwardKeyDirectory({
        ctx: systemContext(deps),
        input: { authority },
      });
      c.header('Cache-Control', 'public, max-age=300');
      c.header('Signature-Input', directory.headers['signature-input']);
      c.header('Signature', directory.headers.signature);
      return c.body(JSON.stringify({ keys: directory.keys }), 200, { 'Content-Type': DIRECTORY_MEDIA_TYPE });
    },
  );
}
