import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../gateway/crypto/jws.ts';
import { sql } from '../../gateway/db/types.ts';
import { cleanEnv, runNode } from '../process/spawn.ts';
import { DIALECTS, freshDatabase, type TestDatabase } from '../support/dialects.ts';
import {
  call,
  createTenant,
  listen,
  registerEcho,
  sequence,
  startTestGateway,
  TEST_SECRETS_KEY,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';

/**
 * `warden <args>` on this database, as an operator runs it; `verify` with `--json`, the verdict these
 * tests read (the readable one is test/cli/verify.test.ts's).
 */
async function warden(databaseUrl: string, args: string[], env: Record<string, string> = {}) {
  const result = await runNode(
    join('gateway', 'bin', 'warden.js'),
    args[1] === 'verify' ? [...args, '--json'] : args,
    cleanEnv({ DATABASE_URL: databaseUrl, SECRETS_KEY: TEST_SECRETS_KEY, ...env }),
  ).exited;
  let out: Record<string, unknown> = {};
  try {
    out = JSON.parse(result.stdout);
  } catch {}
  return { code: result.code, out, stdout: result.stdout, stderr: result.stderr };
}

// Issue 10: `warden signing-key rotate` and `warden receipt verify <file or transaction id>`.
// Several `warden` processes in a test: more time than the default on a loaded machine.
describe('the receipt commands', { timeout: 60_000 }, () => {
  let database: TestDatabase;
  let gw: TestGateway;
  let tenant: Tenant;
  let live: { url: string; close: () => Promise<void> };
  const dir = join(process.env.TMPDIR ?? '/tmp', `warden-receipts-${process.pid}`);

  beforeAll(async () => {
    database = await freshDatabase('sqlite');
    gw = await startTestGateway({ databaseUrl: database.url, realClock: true });
    tenant = await createTenant(gw);
    await registerEcho(gw, 'echo');
    live = await listen(gw);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir, { recursive: true });
  });
  afterAll(async () => {
    await live.close();
    await gw.dispose();
    await database.drop();
  });

  const execute = async (sku: string) => {
    const res = await call(gw, 'POST', '/agp/execute', {
      key: tenant.agentKey,
      body: { businessId: 'echo', request: { action: 'order', sku, quantity: 1 } },
    });
    expect(res.status).toBe(200);
    return { id: res.body.transactionId as string, receipt: res.body.receipt as string };
  };

  it('verifies a receipt by transaction id, from a file, and against the JWK Set over HTTP', async () => {
    const first = await execute('coffee');
    await execute('tea');
    // Not appended yet: signed and named right, but not in the log, so not verified (exit 1).
    const early = await warden(database.url, ['receipt', 'verify', first.id]);
    expect(early.code).toBe(1);
    expect(early.out).toMatchObject({
      valid: false,
      signature: { valid: true },
      names: { valid: true },
      log: { included: false, appended: false },
    });
    await sequence(gw);
    const byId = await warden(database.url, ['receipt', 'verify', first.id]);
    expect(byId.code).toBe(0);
    const head = await call(gw, 'GET', '/v1/ledger/checkpoint', { key: tenant.adminToken });
    expect(byId.out).toMatchObject({
      valid: true,
      signature: { valid: true },
      log: {
        included: true,
        appended: true,
        index: expect.any(Number),
        size: (head.body.payload as { size: number; root: string }).size,
        checkpoint: {
          valid: true,
          size: (head.body.payload as { size: number; root: string }).size,
          root: (head.body.payload as { size: number; root: string }).root,
        },
      },
    });
    const file = join(dir, 'receipt.json');
    writeFileSync(
      file,
      JSON.stringify((await call(gw, 'GET', `/agp/receipts/${first.id}`, { key: tenant.agentKey })).body),
    );
    const fromFile = await warden(database.url, [
      'receipt',
      'verify',
      file,
      '--jwks',
      `${live.url}/.well-known/warden-keys`,
    ]);
    expect(fromFile.code).toBe(0);
    expect(fromFile.out.valid).toBe(true);
  });

  it('`--checkpoint <file>`: inclusion under a checkpoint an auditor kept; one from before it, or forged, fails', async () => {
    const early = await execute('kept');
    await sequence(gw);
    const kept = await call(gw, 'GET', '/v1/ledger/checkpoint', { key: tenant.adminToken });
    const keptFile = join(dir, 'checkpoint.json');
    writeFileSync(keptFile, JSON.stringify(kept.body));
    // The log grows; the receipt is still included under the older checkpoint.
    const later = await execute('later');
    await sequence(gw);
    const under = await warden(database.url, ['receipt', 'verify', early.id, '--checkpoint', keptFile]);
    expect(under.code).toBe(0);
    expect(under.out).toMatchObject({
      valid: true,
      log: { included: true, size: (kept.body.payload as { size: number; root: string }).size },
    });
    // A receipt appended after that checkpoint is not among what it signs.
    const after = await warden(database.url, ['receipt', 'verify', later.id, '--checkpoint', keptFile]);
    expect(after.code).toBe(1);
    expect(after.out).toMatchObject({ valid: false, log: { included: false } });
    expect(String((after.out.log as { error: string }).error)).toMatch(/not among the \d+ entries/);
    // A checkpoint whose payload was edited (a different root) does not verify.
    const [h, p, sig] = (kept.body.checkpoint as string).split('.') as [string, string, string];
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
    payload.root = '0'.repeat(64);
    const forged = join(dir, 'forged.jws');
    writeFileSync(forged, `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${sig}`);
    const bad = await warden(database.url, ['receipt', 'verify', early.id, '--checkpoint', forged]);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatchObject({ valid: false, log: { included: false, checkpoint: { valid: false } } });
  });

  it('a receipt with one changed byte fails (exit 1), and so does one that is not in the chain', async () => {
    const { receipt } = await execute('cake');
    const [h, p, s] = receipt.split('.') as [string, string, string];
    const flipped = `${h}.${p}.${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`;
    const file = join(dir, 'tampered.jws');
    writeFileSync(file, flipped);
    const bad = await warden(database.url, ['receipt', 'verify', file]);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatchObject({ valid: false, signature: { valid: false } });
    const unknown = await warden(database.url, ['receipt', 'verify', 'txn_does_not_exist']);
    expect(unknown.code).toBe(1);
  });

  it('`warden signing-key rotate`: the running gateway signs with the new key; old and new receipts both verify', async () => {
    const before = await execute('old');
    const rotated = await warden(database.url, ['signing-key', 'rotate']);
    expect(rotated.code).toBe(0);
    const kid = rotated.out.kid as string;
    expect(kid).not.toBe(decodeProtectedHeader(before.receipt).kid);
    const after = await execute('new');
    expect(decodeProtectedHeader(after.receipt).kid).toBe(kid);
    const keys = (await (await fetch(`${live.url}/.well-known/warden-keys`)).json()) as {
      keys: { kid: string }[];
    };
    expect(keys.keys.map((k) => k.kid)).toContain(decodeProtectedHeader(before.receipt).kid);
    await sequence(gw);
    for (const id of [before.id, after.id]) {
      const verdict = await warden(database.url, ['receipt', 'verify', id]);
      expect(verdict.code).toBe(0);
    }
  });

  it('with a wrong SECRETS_KEY `signing-key rotate` refuses (a key no gateway could open), naming no secret', async () => {
    const other = 'another-secrets-key-0123456789abcdef-xyz';
    const before = (await (await fetch(`${live.url}/.well-known/warden-keys`)).json()) as { keys: unknown[] };
    const wrong = await warden(database.url, ['signing-key', 'rotate'], { SECRETS_KEY: other });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/sealed under key [0-9a-f]{12}/);
    expect(wrong.stderr).not.toContain(TEST_SECRETS_KEY);
    expect(wrong.stderr).not.toContain(other);
    const after = (await (await fetch(`${live.url}/.well-known/warden-keys`)).json()) as { keys: unknown[] };
    expect(after.keys).toEqual(before.keys);
    expect((await execute('still-signed')).receipt).toBeTruthy();
  });
});

// Issue 18 item 7: the receipt must be the receipt of the transaction asked about (DESIGN §9).
// Several `warden` processes in one test: more time than the default.
describe.each(DIALECTS)(
  '`warden receipt verify` and the transaction asked about on %s',
  { timeout: 60_000 },
  (dialect) => {
    let database: TestDatabase;
    let gw: TestGateway;
    let tenant: Tenant;
    const dir = join(process.env.TMPDIR ?? '/tmp', `warden-receipts-${dialect}-${process.pid}`);

    beforeAll(async () => {
      database = await freshDatabase(dialect);
      gw = await startTestGateway({ databaseUrl: database.url, realClock: true });
      tenant = await createTenant(gw);
      await registerEcho(gw, 'echo');
      const { mkdirSync } = await import('node:fs');
      mkdirSync(dir, { recursive: true });
    });
    afterAll(async () => {
      await gw?.dispose();
      await database?.drop();
    });

    const execute = async (sku: string) => {
      const res = await call(gw, 'POST', '/agp/execute', {
        key: tenant.agentKey,
        body: { businessId: 'echo', request: { action: 'order', sku, quantity: 1 } },
      });
      expect(res.status).toBe(200);
      return { id: res.body.transactionId as string, receipt: res.body.receipt as string };
    };
    const file = (name: string, text: string) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };

    it("another transaction's receipt, in its row or in a file, does not verify and says why", async () => {
      const a = await execute('apple');
      await execute('middle');
      const b = await execute('banana');
      await sequence(gw);
      // B's receipt checked as A's: its signature and its place in the log hold, its payload does not.
      const asA = { valid: false, signature: { valid: true } };
      const namesB = {
        valid: false,
        transactionId: a.id,
        workspaceId: tenant.workspaceId,
        error: `The receipt names transaction ${b.id}, not ${a.id}: it is another transaction's receipt.`,
      };
      const logOfB = expect.objectContaining({ included: true, appended: true, index: expect.any(Number) });

      // In the database: B's receipt (and its hash) copied into A's row.
      await gw.db.transaction({}, (tx) =>
        tx.run(sql('UPDATE receipts SET jws = ?, hash = ? WHERE transaction_id = ?'), [
          b.receipt,
          sha256Hex(b.receipt),
          a.id,
        ]),
      );
      const byId = await warden(database.url, ['receipt', 'verify', a.id]);
      expect(byId.out).toEqual({ ...asA, signature: expect.anything(), names: namesB, log: logOfB });
      expect(byId.code).toBe(1);
      // B itself still verifies.
      expect((await warden(database.url, ['receipt', 'verify', b.id])).code).toBe(0);

      // The JSON of GET /agp/receipts/:id edited to say A, with B's receipt inside.
      const edited = file('edited.json', JSON.stringify({ transactionId: a.id, receipt: b.receipt }));
      const fromJson = await warden(database.url, ['receipt', 'verify', edited]);
      expect(fromJson.out).toMatchObject({ ...asA, names: namesB, log: logOfB });
      expect(fromJson.code).toBe(1);
      // A file holding B's compact JWS, asked about A with --transaction; asked about B, it verifies.
      const jws = file('b.jws', b.receipt);
      const bare = await warden(database.url, ['receipt', 'verify', jws, '--transaction', a.id]);
      expect(bare.out).toMatchObject({ ...asA, names: namesB });
      expect(bare.code).toBe(1);
      const own = await warden(database.url, ['receipt', 'verify', jws, '--transaction', b.id]);
      expect(own.out).toMatchObject({ valid: true, names: { valid: true, transactionId: b.id } });
      expect(own.code).toBe(0);
    });
  },
);
