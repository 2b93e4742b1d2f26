import { serve } from '@hono/node-server';
import { loadConfig } from '../../config/index.ts';
import { createGateway } from '../../gateway/app.ts';
import { announceReady, onStop } from '../lib/child.ts';

/**
 * Another replica of a gateway on a shared database (PostgreSQL): configured from the environment like
 * `gateway/main.ts`, it creates nothing; it serves the tenant the first `gateway` server made.
 */
const config = loadConfig(process.env);
const gateway = await createGateway({ config });

const server = serve({ fetch: gateway.app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
  announceReady({ port: info.port, mode: config.executeMode, database: gateway.deps.db.dialect });
});
onStop(async () => {
  await new Promise<void>((resolve) => {
    if ('closeAllConnections' in server) server.closeAllConnections();
    server.close(() => resolve());
  });
  await gateway.close();
});
