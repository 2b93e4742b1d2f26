import { describe, expect, it } from 'vitest';
import { sql } from '../../gateway/db/types.ts';
import { resealSecrets } from '../../gateway/services/platform/index.ts';
import { DIALECTS, freshDatabase } from '../support/dialects.ts';
import { call, createTenant, startTestGateway, TEST_SECRETS_KEY } from '../support/harness.ts';

/**
 * Issue 23: the Slack, Teams and Git secrets are sealed like the others, and `warden secrets
 * reseal` moves them to a new SECRETS_KEY, after which the old key is not needed to open them.
 */
const NEW_KEY = 'a-new-secrets-key-for-integrations-0123456789';
const BOT_TOKEN = 'xoxb-9999-8888-resealtoken';
const GIT_TOKEN = 'ghp_resealtoken0123456789';

describe.each(DIALECTS)('resealing integration secrets (%s)', (dialect) => {
  it('moves every sealed integration secret to the new key', async () => {
    const database = await freshDatabase(dialect);
    try {
      const old = await startTestGateway({ databaseUrl: database.url });
      const tenant = await createTenant(old);
      const slack = await call(old, 'PUT', '/v1/channels/slack', {
        key: tenant.adminToken,
        body: {
          botToken: BOT_TOKEN,
          signingSecret: 'abcdef0123456789abcdef',
          routes: { approver: 'C0APPROVE' },
        },
      });
      expect(slack.status).toBe(200);
      const link = await call(old, 'PUT', '/v1/policies/default/source', {
        key: tenant.adminToken,
        body: { provider: 'github', repository: 'acme/policies', path: 'p.json', token: GIT_TOKEN },
      });
      expect(link.status).toBe(200);
      await old.dispose();

      const rotating = await startTestGateway({
        databaseUrl: database.url,
        env: { SECRETS_KEY: NEW_KEY, SECRETS_KEY_PREVIOUS: TEST_SECRETS_KEY },
      });
      expect((await resealSecrets(rotating.deps)).integrations).toBe(3);
      expect((await resealSecrets(rotating.deps)).integrations).toBe(0);
      await rotating.dispose();

      const fresh = await startTestGateway({ databaseUrl: database.url, env: { SECRETS_KEY: NEW_KEY } });
      try {
        const [channel] = await fresh.db.reader.all(sql('SELECT secrets FROM channels', (r) => String(r[0])));
        expect(JSON.parse(fresh.deps.sealer.open(channel ?? ''))).toMatchObject({ botToken: BOT_TOKEN });
        const [row] = await fresh.db.reader.all(
          sql('SELECT token, webhook_secret FROM policy_sources', (r) => [String(r[0]), String(r[1])]),
        );
        expect(fresh.deps.sealer.open(row?.[0] ?? '')).toBe(GIT_TOKEN);
        expect(fresh.deps.sealer.open(row?.[1] ?? '')).toBe(link.body.webhookSecret);
      } finally {
        await fresh.dispose();
      }
    } finally {
      await database.drop();
    }
  });
});
