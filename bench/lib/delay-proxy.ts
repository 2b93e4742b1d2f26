import { createConnection, createServer, type Socket } from 'node:net';

/**
 * A TCP proxy that holds every chunk `delayMs` in each direction before passing it on, in order: a
 * database "further away" on loopback (issue 20: 0.5 ms each way shows what waits on round trips).
 * Node's timers tick in milliseconds, so a sub-millisecond delay is a floor, not an exact figure:
 * the delay actually added is measured and reported (`measuredOneWayMs`).
 */
export interface DelayProxy {
  host: string;
  port: number;
  /** Median one-way delay added to the chunks passed so far (ms). */
  measuredOneWayMs(): number;
  close(): Promise<void>;
}

export async function startDelayProxy(
  target: { host: string; port: number },
  delayMs: number,
): Promise<DelayProxy> {
  const samples: number[] = [];
  const sockets = new Set<Socket>();
  const pipeDelayed = (from: Socket, to: Socket) => {
    const queue: { due: number; at: number; chunk: Buffer }[] = [];
    let timer: NodeJS.Timeout | undefined;
    const flush = () => {
      timer = undefined;
      const now = performance.now();
      while (queue.length > 0 && (queue[0] as { due: number }).due <= now) {
        const item = queue.shift() as { due: number; at: number; chunk: Buffer };
        if (samples.length < 100_000) samples.push(now - item.at);
        to.write(item.chunk);
      }
      if (queue.length > 0) timer = setTimeout(flush, Math.max(0, (queue[0] as { due: number }).due - now));
    };
    from.on('data', (chunk: Buffer) => {
      const at = performance.now();
      queue.push({ due: at + delayMs, at, chunk });
      if (!timer) timer = setTimeout(flush, delayMs);
    });
    from.on('end', () => to.end());
  };
  const server = createServer((client) => {
    const upstream = createConnection(target);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
      s.on('close', () => sockets.delete(s));
    }
    pipeDelayed(client, upstream);
    pipeDelayed(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the delay proxy has no port');
  return {
    host: '127.0.0.1',
    port: address.port,
    measuredOneWayMs() {
      const sorted = [...samples].sort((a, b) => a - b);
      return sorted.length === 0 ? 0 : (sorted[Math.floor(sorted.length / 2)] as number);
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
