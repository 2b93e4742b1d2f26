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
 * Standard output for a person at a terminal: one coloured line per event (time, level, message,
 * then the fields), written synchronously. `gateway/main.ts` picks it when stdout is a TTY outside
 * production; anything else (a pipe, a file, a log shipper) gets one JSON object per line. Loaded
 * only then, so a start that logs JSON does not load the formatter.
 */
export async function terminalStdout(): Promise<pino.DestinationStream> {
  const { default: pinoPretty } = await import('pino-pretty');
  return pinoPretty({
    destination: 1,
    sync: true,
    colorize: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service',
    singleLine: true,
  });
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
