import type { Server } from 'node:http';
import type { Http2SecureServer, Http2Server } from 'node:http2';
import type { Duplex } from 'node:stream';
import { type ErrorCode, errorBody, GatewayError } from './domain/errors.ts';
import { newId } from './ids.ts';

/** What Node's parser reports, by its error code, and the answer the gateway gives instead. */
const CLIENT_ERRORS: Record<string, [ErrorCode, string]> = {
  HPE_HEADER_OVERFLOW: ['HEADERS_TOO_LARGE', 'The request line or headers are too large.'],
  ERR_HTTP_REQUEST_TIMEOUT: ['REQUEST_TIMEOUT', 'The request was not received in time.'],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: ['PAYLOAD_TOO_LARGE', 'The chunk extensions are too large.'],
};

/**
 * Requests Node cannot parse never reach Hono: Node answers them itself with a bare status line
 * (`431` with no body for oversized headers). This answers them with the JSON envelope of DESIGN §3
 * instead, then closes the connection (it is in an unknown state).
 */
export function answerClientErrors(server: Server | Http2Server | Http2SecureServer): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // A response already under way on this connection (keep-alive) cannot be followed by another.
    const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
    if (error.code === 'ECONNRESET' || !socket.writable || inFlight) {
      socket.destroy();
      return;
    }
    const [code, message] = CLIENT_ERRORS[error.code ?? ''] ?? [
      'VALIDATION_ERROR',
      'The request is not valid HTTP/1.1.',
    ];
    const failure = new GatewayError(code, message);
    const requestId = newId('request');
    const body = JSON.stringify(errorBody(failure, requestId));
    socket.end(
      `HTTP/1.1 ${failure.status} ${STATUS_TEXT[failure.status] ?? 'Error'}\r\n` +
        'Content-Type: application/json; charset=UTF-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Request-Id: ${requestId}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  });
}

const STATUS_TEXT: Partial<Record<number, string>> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  413: 'Payload Too Large',
  431: 'Request Header Fields Too Large',
};
