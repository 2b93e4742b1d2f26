import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDatabaseUrl } from '../support/harness.ts';
import { cleanEnv, runNode } from './spawn.ts';

/** DESIGN §10: env only, parsed once; a bad value stops the start with a message naming the variable. */

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function start(vars: Record<string, string>) {
  const db = tempDatabaseUrl();
  cleanups.push(db.cleanup);
  const run = runNode(
    'gateway/main.ts',
    [],
    cleanEnv({ NODE_ENV: 'development', HOST: '127.0.0.1', PORT: '0', DATABASE_URL: db.url, ...vars }),
  );
  cleanups.push(() => run.kill());
  const result = await run.exited;
  return { ...result, databaseFile: db.url.slice('file:'.length) };
}

describe('a bad configuration stops the start', () => {
  it('AGENR_EXECUTE_POLICY=sometimes: non-zero exit, stderr names the variable and what is allowed', async () => {
    const result = await start({ AGENR_EXECUTE_POLICY: 'sometimes' });
    expect(result.code).not.toBe(0);
    expect(result.code).not.toBeNull();
    expect(result.stderr).toMatch(/AGENR_EXECUTE_POLICY/);
    for (const allowed of ['open', 'confirm', 'strict']) expect(result.stderr).toContain(allowed);
    expect(result.stderr).toContain('sometimes');
    // A message for an operator, not a crash.
    expect(result.stderr).not.toMatch(/\n\s+at /);
    // It stopped before touching the database or listening.
    expect(existsSync(result.databaseFile)).toBe(false);
    expect(result.stdout).not.toMatch(/"msg":"listening"/);
  });

  it.each([
    ['abc', /number/i],
    ['70000', /65535|65 535|too big|less than or equal/i],
    ['-1', /0|too small|greater than or equal/i],
  ])('PORT=%s: non-zero exit, stderr names PORT and why', async (port, why) => {
    const result = await start({ PORT: port });
    expect(result.code).not.toBe(0);
    expect(result.code).not.toBeNull();
    const line = result.stderr.split('\n').find((l) => l.includes('PORT'));
    expect(line).toBeDefined();
    expect(line).toMatch(why);
    expect(line).toContain(port);
    expect(result.stderr).not.toContain('AGENR_EXECUTE_POLICY');
    expect(existsSync(result.databaseFile)).toBe(false);
  });

  it('every bad variable is named at once', async () => {
    const result = await start({
      AGENR_EXECUTE_POLICY: 'sometimes',
      PORT: 'abc',
      AGENR_MAX_EXECUTE_AMOUNT: 'lots',
      CONFIRMATION_TOKEN_TTL_SECONDS: '0',
    });
    expect(result.code).not.toBe(0);
    for (const name of [
      'AGENR_EXECUTE_POLICY',
      'PORT',
      'AGENR_MAX_EXECUTE_AMOUNT',
      'CONFIRMATION_TOKEN_TTL_SECONDS',
    ]) {
      expect(result.stderr).toContain(name);
    }
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('a rejected secret is named but never printed', async () => {
    const result = await start({ WARDEN_ADMIN_TOKEN: 'hunter2-secret', SECRETS_KEY: 'too-short-key-value' });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('WARDEN_ADMIN_TOKEN');
    expect(result.stderr).toContain('SECRETS_KEY');
    expect(result.stderr).toMatch(/at least 16/);
    expect(result.stderr).not.toContain('hunter2-secret');
    expect(result.stderr).not.toContain('too-short-key-value');
  });

  it('a DATABASE_URL of an unknown kind is refused by name, without its password', async () => {
    const result = await start({ DATABASE_URL: 'mysql://warden:s3cret-pw@localhost/warden' });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('DATABASE_URL');
    expect(result.stderr).toContain('mysql://warden:');
    expect(result.stderr).not.toContain('s3cret-pw');
  });
});
