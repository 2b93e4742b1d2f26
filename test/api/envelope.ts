import { expect } from 'vitest';

/** The answer of `call()` from the harness. */
export interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

/**
 * DESIGN §3: every error is `{error, code, requestId}` (plus `details` where useful), the request id in the
 * body is the one in the `X-Request-Id` header, and no stack trace ever leaks.
 */
export function expectError(res: Answer, status: number, code: string, error?: string | RegExp): void {
  expect({ status: res.status, code: res.body.code }).toEqual({ status, code });
  expect(typeof res.body.error).toBe('string');
  expect((res.body.error as string).length).toBeGreaterThan(0);
  if (typeof error === 'string') expect(res.body.error).toBe(error);
  else if (error) expect(res.body.error).toMatch(error);
  const requestId = res.headers.get('X-Request-Id');
  expect(requestId).toBeTruthy();
  expect(res.body.requestId).toBe(requestId);
  expect(res.headers.get('Content-Type') ?? '').toMatch(/^application\/json/);
  const allowed = new Set(['error', 'code', 'requestId', 'details']);
  expect(Object.keys(res.body).filter((k) => !allowed.has(k))).toEqual([]);
  expect(JSON.stringify(res.body)).not.toMatch(/\n\s+at |\.ts:\d+|node_modules/);
}

/** The paths of a VALIDATION_ERROR's `details`. */
export function issuePaths(res: Answer): string[] {
  const details = res.body.details;
  expect(Array.isArray(details)).toBe(true);
  return (details as { path: string }[]).map((issue) => issue.path);
}
