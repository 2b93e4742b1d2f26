import type { Hono } from 'hono';
import type { GatewayEnv } from '../env.ts';
import type { Deps } from '../services/context.ts';

/**
 * GET /.well-known/warden-keys (DESIGN §9): the receipt signing keys as a JWK Set, current and
 * retired, without auth. Cached briefly: a verifier meeting an unknown `kid` fetches it again.
 */
export function registerWellKnownRoutes(app: Hono<GatewayEnv>, deps: Deps): void {
  app.get('/.well-known/warden-keys', async (c) => {
    c.header('Cache-Control', 'public, max-age=60');
    return c.json(await deps.signingKeys.jwks());
  });
}
