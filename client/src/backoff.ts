/** How a call is repeated: attempts in all, and exponential delays between them. */
export interface RetryOptions {
  /** Attempts in all, the first included (default 5). */
  attempts?: number;
  /** The first delay in ms (default 200); each next one doubles. */
  baseMs?: number;
  /** The longest delay in ms (default 10 000). */
  maxMs?: number;
}

export const RETRY_DEFAULTS: Required<RetryOptions> = { attempts: 5, baseMs: 200, maxMs: 10_000 };

/**
 * The delay before attempt `attempt + 1`: the gateway's Retry-After when it sent one, else
 * base·2^attempt capped at max, with "equal jitter" (half fixed, half random) so that agents
 * retrying together spread out.
 */
export function backoffMs(
  retry: Required<RetryOptions>,
  attempt: number,
  retryAfterSeconds?: number,
): number {
  if (retryAfterSeconds !== undefined && retryAfterSeconds > 0)
    return Math.min(retryAfterSeconds * 1000, retry.maxMs);
  const ceiling = Math.min(retry.maxMs, retry.baseMs * 2 ** attempt);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
