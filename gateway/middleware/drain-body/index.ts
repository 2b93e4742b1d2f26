import type { MiddlewareHandler } from 'hono';

export interface DrainBodyOptions {
  /** Past this many unread bytes the body is cancelled (the connection closes) instead of read. */
  maxBytes?: number;
}

/**
 * Reads and discards a request body nobody read, after the answer is built.
 *
 * An early refusal (401, 404, 413 by Content-Length, …) leaves the body unread. On @hono/node-server the
 * body stream is already wired to the socket and pauses it once its buffer fills, so the server's own
 * drain stalls and the keep-alive connection is dropped after 500 ms, taking the client's next request
 * with it. HTTP/1.1 keeps a connection usable only once the whole message is consumed (RFC 9112 §9.3), so
 * the body is read to the end here, in the background. A body something else still holds (a reader that
 * stopped part-way) cannot be drained: the answer says `Connection: close` so the client does not reuse it.
 */
export function drainBody({ maxBytes = 64 * 1024 * 1024 }: DrainBodyOptions = {}): MiddlewareHandler {
  return async function drainBodyMiddleware(c, next) {
    const raw = c.req.raw;
    await next();
    if (raw.method === 'GET' || raw.method === 'HEAD') return;
    // On @hono/node-server the bindings carry the Node request: once it ended, the socket is clean.
    if (nodeRequestEnded(c.env)) return;
    const body = raw.body;
    if (!body) return;
    if (body.locked) {
      c.res.headers.set('Connection', 'close');
      return;
    }
    if (raw.bodyUsed) return;
    void discard(body.getReader(), maxBytes);
  };
}

function nodeRequestEnded(env: unknown): boolean {
  if (typeof env !== 'object' || env === null || !('incoming' in env)) return false;
  const incoming: unknown = env.incoming;
  return (
    typeof incoming === 'object' &&
    incoming !== null &&
    'readableEnded' in incoming &&
    incoming.readableEnded === true
  );
}

async function discard(reader: ReadableStreamDefaultReader<Uint8Array>, maxBytes: number): Promise<void> {
  let read = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.byteLength;
      if (read > maxBytes) {
        await reader.cancel();
        return;
      }
    }
  } catch {
    // The client went away; nothing is left to keep usable.
  }
}
