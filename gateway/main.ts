import type { ServerType } from '@hono/node-server';
import { ConfigError, loadConfig } from '../config/index.ts';
import { createGateway } from './app.ts';
import { bootstrapDemo, demoInstructions } from './bootstrap.ts';
import { createLogger, terminalStdout } from './logger.ts';
import { listen } from './server.ts';

/** Bind errors an operator fixes with PORT (or HOST): what to say instead of a stack trace. */
const BIND_ERRORS: Record<string, (port: number) => string> = {
  EADDRINUSE: (port) =>
    `port ${port} is in use by another process; set PORT to a free port (PORT=${port + 1} npm start)`,
  EACCES: (port) => `port ${port} needs privileges this process lacks; set PORT to a port above 1023`,
  EADDRNOTAVAIL: () => 'this machine has no such address; set HOST (0.0.0.0 listens on every address)',
};

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
  // Readable lines for a person at a terminal; JSON lines for everything that reads logs by machine.
  const pretty = Boolean(process.stdout.isTTY) && config.nodeEnv !== 'production';
  const logger = createLogger(config.logLevel, pretty ? await terminalStdout() : undefined);
  const gateway = await createGateway({ config, logger });

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
  let server: ServerType | undefined;
  const port = await new Promise<number>((resolve) => {
    server = listen(options, (info) => resolve(info.port));
    // Before listening, a bind error is the operator's to fix: one line, no stack.
    server.once('error', (error: NodeJS.ErrnoException) => {
      const why = BIND_ERRORS[error.code ?? ''];
      if (!why) throw error;
      process.stderr.write(`warden: cannot listen on ${config.host}:${config.port}: ${why(config.port)}\n`);
      process.exit(1);
    });
  });
  logger.info(
    { port, host: config.host, mode: config.executeMode, database: gateway.deps.db.dialect },
    'listening',
  );
  // The demo is made once the port is ours: a start that cannot bind leaves the database empty, so
  // the next start still creates the demo and prints its secrets.
  const demo = await bootstrapDemo(gateway.deps);
  if (demo) {
    process.stdout.write(
      demoInstructions(demo, {
        baseUrl: `http://localhost:${port}`,
        mode: config.executeMode,
        maxExecuteAmount: config.maxExecuteAmount,
      }),
    );
  }

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
    server?.close(async () => {
      await gateway.close();
      logger.info('stopped');
      // Log lines are written asynchronously: the last ones go out before the process does.
      logger.flush(() => process.exit(0));
    });
    if (server && 'closeIdleConnections' in server) server.closeIdleConnections();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error) => {
  process.stderr.write(`warden: failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
