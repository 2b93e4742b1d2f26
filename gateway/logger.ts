import pino, { type Logger } from 'pino';

/**
 * Standard output, written asynchronously: lines logged while a write is under way go out together
 * in the next one, instead of one synchronous write(2) per request on the event loop. What is still
 * buffered is flushed when the process exits.
 */
let shared: ReturnType<typeof pino.destination> | undefined;
function stdout(): pino.DestinationStream {
  if (!shared) {
    const destination = pino.destination({ dest: 1, sync: false });
    process.once('exit', () => {
      try {
        destination.flushSync();
      } catch {
        // Nothing more can be done with a log line at exit.
      }
    });
    shared = destination;
  }
  return shared;
}

/**
 * The process logger. Nothing secret is logged on purpose, and these paths are redacted in case
 * a header or body ever is.
 */
export function createLogger(level: string, destination: pino.DestinationStream = stdout()): Logger {
  return pino(
    {
      level,
      base: { service: 'warden' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'authorization',
          '*.authorization',
          'headers["x-api-key"]',
          'headers["x-confirmation-token"]',
          '*.token',
          '*.key',
          '*.adminToken',
          '*.signingSecret',
          'confirmationToken',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
