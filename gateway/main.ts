import type { ServerType } from '@hono/node-server';
import { ConfigError, loadConfig } from '../config/index.ts';
import { createGateway } from './app.ts';
import { bootstrapDemo, demoInstructions } from './bootstrap.ts';
import { createLogger } from './logger.ts';
import { listen } from './server.ts';

/** Process entry: config → store (migrated) → gateway → listen; SIGTERM drains and closes. */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`warden: ${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  const gateway = await createGateway({ config, logger });
  const demo = await bootstrapDemo(gateway.deps);

  let stopping = false;
  // While draining, every answer closes its connection (RFC 9112 §9.6): a keep-alive client would
  // otherwise hold the server open until its idle timeout, or keep sending requests on it.
  const fetch = async (request: Request, env: unknown): Promise<Response> => {
    const response = await gateway.app.fetch(request, env);
    if (!stopping) return response;
    try {
      response.headers.set('Connection', 'close');
      return response;
    } catch {
      // Immutable headers (a Response passed through from fetch): copy it.
      const copy = new Response(response.body, response);
      copy.headers.set('Connection', 'close');
      return copy;
    }
  };

  const options = { fetch, port: config.port, hostname: config.host, limits: config.http };
  const server: ServerType = listen(options, (info) => {
    logger.info(
      {
        port: info.port,
        host: config.host,
        mode: config.executeMode,
        database: gateway.deps.db.dialect,
      },
      'listening',
    );
    if (demo)
      process.stdout.write(demoInstructions(demo, `http://localhost:${info.port}`, config.executeMode));
  });

  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: no new connections, finishing in-flight requests');
    gateway.health.accepting = false;
    const force = setTimeout(() => {
      logger.error('in-flight requests did not finish in time; exiting');
      process.exit(1);
    }, 25_000);
    force.unref();
    server.close(async () => {
      await gateway.close();
      logger.info('stopped');
      // Log lines are written asynchronously: the last ones go out before the process does.
      logger.flush(() => process.exit(0));
    });
    if ('closeIdleConnections' in server) server.closeIdleConnections();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error) => {
  process.stderr.write(`warden: failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
