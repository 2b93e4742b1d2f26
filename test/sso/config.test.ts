import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config/index.ts';

/** Issue 22's settings of the environment: their defaults, and a bad value named. */
describe('single sign-on settings of the environment', () => {
  const production = { NODE_ENV: 'production', SECRETS_KEY: 'k'.repeat(32) };

  it('reuses discovery for an hour and allows plain-http IdPs only outside production by default', () => {
    const dev = loadConfig({ NODE_ENV: 'development' });
    expect({ ttl: dev.ssoDiscoveryTtlMs, http: dev.ssoAllowHttp }).toEqual({ ttl: 3_600_000, http: true });
    expect(loadConfig(production).ssoAllowHttp).toBe(false);
    const set = loadConfig({ ...production, SSO_ALLOW_HTTP: 'true', SSO_DISCOVERY_TTL_SECONDS: '0' });
    expect({ ttl: set.ssoDiscoveryTtlMs, http: set.ssoAllowHttp }).toEqual({ ttl: 0, http: true });
  });

  it('names a bad value', () => {
    let thrown: unknown;
    try {
      loadConfig({ SSO_DISCOVERY_TTL_SECONDS: '-1', SSO_ALLOW_HTTP: 'maybe' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).problems.map((p) => p.variable).sort()).toEqual([
      'SSO_ALLOW_HTTP',
      'SSO_DISCOVERY_TTL_SECONDS',
    ]);
  });
});
