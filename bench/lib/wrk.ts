import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HttpTarget, LoadResult, LoadSettings } from './load.ts';

/** Whether wrk (Debian package `wrk`) is on PATH: a C load generator, lighter than one in Node. */
export function haveWrk(): boolean {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (error) {
    // wrk --version exits 1 after printing its version; only a missing binary is ENOENT.
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/**
 * The Lua script wrk runs per connection: the request's method, body and headers, and a counter of
 * 2xx answers whose body lacks `expect` (a gateway that answers 200 without executing is caught).
 */
function script(target: HttpTarget): string {
  const headers = { 'content-type': 'application/json', ...target.headers };
  const lua = (s: string) => JSON.stringify(s);
  return [
    `wrk.method = ${lua(target.method ?? 'POST')}`,
    target.body === undefined ? '' : `wrk.body = ${lua(target.body)}`,
    ...Object.entries(headers).map(([k, v]) => `wrk.headers[${lua(k)}] = ${lua(v)}`),
    'local threads = {}',
    'function setup(thread) table.insert(threads, thread) end',
    'mismatches = 0',
    target.expectBodyIncludes === undefined
      ? ''
      : `function response(status, headers, body)
  if status >= 200 and status < 300 and not string.find(body, ${lua(target.expectBodyIncludes)}, 1, true) then
    mismatches = mismatches + 1
  end
end`,
    `function done(summary, latency, requests)
  local m = 0
  for _, t in ipairs(threads) do m = m + (t:get("mismatches") or 0) end
  io.write(string.format("WARDEN %d %d %d %d %d %f %f %d\\n", summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write, summary.errors.timeout,
    summary.duration, latency:percentile(50), latency:percentile(99), m))
end`,
  ].join('\n');
}

function run(args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('wrk', args, { maxBuffer: 1 << 20 }, (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    ),
  );
}

/** wrk with one thread (as the issue measured), warm-up first; latencies in milliseconds. */
export async function wrkLoad(target: HttpTarget, settings: LoadSettings): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-wrk-'));
  const file = join(dir, 'request.lua');
  writeFileSync(file, script(target));
  const url = `${target.url}${target.path}`;
  const base = ['-t1', `-c${settings.connections}`, '-s', file, '--timeout', '10s'];
  let okWarm = 0;
  if (settings.warmup > 0) {
    const warm = parse(await run([...base, `-d${settings.warmup}s`, url]));
    okWarm = warm.requests - warm.non2xx;
  }
  const m = parse(await run([...base, `-d${settings.duration}s`, url]));
  return {
    rate: m.requests / m.seconds,
    p50Ms: m.p50Us / 1000,
    p99Ms: m.p99Us / 1000,
    total: m.requests,
    non2xx: m.non2xx,
    errors: m.errors,
    mismatches: m.mismatches,
    statusCodes: {},
    failures: m.non2xx + m.errors > 0 ? [`${m.non2xx} non-2xx, ${m.errors} socket errors or timeouts`] : [],
    okRequestsIncludingWarmup: okWarm + m.requests - m.non2xx,
  };
}

function parse(stdout: string) {
  const line = stdout.split('\n').find((l) => l.startsWith('WARDEN '));
  if (!line) throw new Error(`wrk printed no summary:\n${stdout}`);
  const [requests, non2xx, socket, timeouts, micros, p50, p99, mismatches] = line
    .split(' ')
    .slice(1)
    .map(Number);
  return {
    requests: requests ?? 0,
    non2xx: non2xx ?? 0,
    errors: (socket ?? 0) + (timeouts ?? 0),
    seconds: (micros ?? 1) / 1e6,
    p50Us: p50 ?? 0,
    p99Us: p99 ?? 0,
    mismatches: mismatches ?? 0,
  };
}

/**
 * Confirm mode with wrk: every connection alternates prepare and execute, the execute carrying a
 * token a prepare answered. A unit is a pair: the rate counts executes that succeeded; latencies
 * are per request (prepare and execute alike).
 */
export async function wrkPairs(
  target: { url: string; key: string; body: string },
  settings: LoadSettings,
): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-wrk-'));
  const file = join(dir, 'pairs.lua');
  const lua = (s: string) => JSON.stringify(s);
  writeFileSync(
    file,
    `local threads = {}
function setup(thread) table.insert(threads, thread) end
tokens = {}
executed = 0
local headers = { ["content-type"] = "application/json", ["authorization"] = ${lua(`Bearer ${target.key}`)} }
function request()
  local token = table.remove(tokens)
  if token then
    local h = { ["content-type"] = headers["content-type"], ["authorization"] = headers["authorization"], ["x-confirmation-token"] = token }
    return wrk.format("POST", "/agp/execute", h, ${lua(target.body)})
  end
  return wrk.format("POST", "/agp/execute/prepare", headers, ${lua(target.body)})
end
function response(status, hdrs, body)
  local token = string.match(body, '"confirmationToken":"([^"]+)"')
  if token then table.insert(tokens, token)
  elseif status == 200 and string.find(body, '"status":"succeeded"', 1, true) then executed = executed + 1 end
end
function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do n = n + (t:get("executed") or 0) end
  io.write(string.format("WARDEN %d %d %d %d %d %f %f %d\\n", summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write, summary.errors.timeout,
    summary.duration, latency:percentile(50), latency:percentile(99), n))
end`,
  );
  const base = ['-t1', `-c${settings.connections}`, '-s', file, '--timeout', '10s', target.url];
  let warmExecuted = 0;
  if (settings.warmup > 0) warmExecuted = parse(await run([...base, `-d${settings.warmup}s`])).mismatches;
  const m = parse(await run([...base, `-d${settings.duration}s`]));
  const executed = m.mismatches; // the last field carries executes here
  return {
    rate: executed / m.seconds,
    p50Ms: m.p50Us / 1000,
    p99Ms: m.p99Us / 1000,
    total: executed,
    non2xx: m.non2xx,
    errors: m.errors,
    mismatches: 0,
    statusCodes: {},
    failures: m.non2xx + m.errors > 0 ? [`${m.non2xx} non-2xx, ${m.errors} socket errors or timeouts`] : [],
    okRequestsIncludingWarmup: warmExecuted + executed,
  };
}
