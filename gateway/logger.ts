import pino, { type Logger } from 'pino';

/**
 * The process logger. Nothing secret is logged on purpose, and these paths are redacted in case
 * a header or body ever is.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
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
