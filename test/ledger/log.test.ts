import { setImmediate as turn } from 'node:timers/promises';
import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../../gateway/db/types.ts';
import { deliverDue } from '../../gateway/services/notifications/outbox.ts';
import { expectError } from '../api/envelope.ts';
import { headerRecord, type Receiver, startReceiver } from '../e2e/support.ts';
import { DIALECTS } from '../support/dialects.ts';
import {
  call,
  createTenant,
  registerEcho,
  sequence,
  startTestGateway,
  type Tenant,
  type TestGateway,
} from '../support/harness.ts';
import * as rfc from './rfc9162.ts';
import { entryBytes, type Get, rebuildLog } from './support.ts';

const hex = (h: string) => Buffer.from(h, 'hex');

// DESIGN §9 (normative): one Merkle log per workspace (RFC 9162 §2.1) orders and seals receipts and
// audit events after they commit; checkpoints, inclusion and consistency proofs; the audit chain
// checked against it. Every proof here is checked with the tests' own RFC 9162 code.
describe.each(DIALECTS)('the ledger log on %s', (dialect) => {
  let gw: TestGateway;
  let tenant: Tenant;
  let keys: ReturnType<typeof createLocalJWKSet>;
  let receiver: Receiver;
  let hookSecret: string;
  const asAdmin: Get = (path) => call(gw, 'GET', path, { key: tenant.adminToken });

  beforeAll(async () => {
    gw = await startTestGateway({ dialect });
    tenant = await createTenant(gw, { name: `Ledger ${dialect}` });
    await registerEcho(gw, 'echo');
    receiver = await startReceiver([200]);
    const hook = await call(gw, 'POST', '/v1/webhooks', {
      key: tenant.adminToken,
      body: { url: receiver.url, events: ['ledger.checkpoint'] },
    });
    expect(hook.status).toBe(201);
    hookSecret = hook.body.secret as string;
    const set = (await call(gw, 'GET', '/.well-known/warden-keys')).body as unknown as JSONWebKeySet;
    keys = createLocalJWKSet(set);
  });
  afterAll(async () => {
    await gw?.dispose();
    await receiver?.close();
  });

  const execute = async (sku: string, key = tenant.agentKey) => {
    const res = await call(gw, 'POST', '/agp/execute', {
      key,
      body: { businessId: 'echo', request: { action: 'order', sku, amount_cents: 5 } },
    });
    expect(res.status).toBe(200);
    return { id: res.body.transactionId as string, receipt: res.body.receipt as string };
  };

  it('before anything is appended there is no checkpoint (404) and no proof (400)', async () => {
    const other = await createTenant(gw, { name: `Empty ${dialect}` });
    const none = await call(gw, 'GET', '/v1/ledger/checkpoint', { key: other.adminToken });
    expectError(none, 404, 'NOT_FOUND');
    const agent = await call(gw, 'GET', '/agp/ledger/checkpoint', { key: other.agentKey });
    expectError(agent, 404, 'NOT_FOUND');
    const proof = await call(gw, 'GET', '/v1/ledger/consistency?from=1&to=1', { key: other.adminToken });
    expectError(proof, 400, 'VALIDATION_ERROR');
  });

  it('rebuilt from its entries the tree matches the signed root; every receipt and audit event is in it once', async () => {
    const done = [await execute('a'), await execute('b'), await execute('c')];
    expect(
      (await call(gw, 'POST', '/v1/keys', { key: tenant.adminToken, body: { agentId: 'x' } })).status,
    ).toBe(201);
    expect(await sequence(gw)).toBeGreaterThan(0);
    const log = await rebuildLog(asAdmin, keys);
    // Exactly the workspace's receipts and audit events, each once.
    const receipts = await gw.db.reader.all(
      sql('SELECT jws FROM receipts WHERE workspace_id = ?', (r) => r[0] as string),
      [tenant.workspaceId],
    );
    const events = await gw.db.reader.all(
      sql('SELECT id, hash FROM audit_events WHERE workspace_id = ?', (r) => `${r[0]}:${r[1]}`),
      [tenant.workspaceId],
    );
    const logged = log.entries.map((e) => (e.kind === 'receipt' ? e.jws : `${e.id}:${e.hash}`));
    expect(new Set(logged).size).toBe(logged.length);
    expect([...logged].sort()).toEqual([...receipts, ...events].sort());
    // Every receipt's inclusion proof leads to the checkpoint's root (tests' own verifier).
    for (const { id, receipt } of done) {
      const res = await call(gw, 'GET', `/agp/receipts/${id}`, { key: tenant.agentKey });
      expect(res.status).toBe(200);
      const place = res.body.log as {
        index: number;
        size: number;
        inclusionProof: string[];
        checkpoint: string;
      };
      expect(place.checkpoint).toBe(log.checkpoint);
      expect(log.entries[place.index]).toEqual({ index: place.index, kind: 'receipt', jws: receipt });
      const leaf = rfc.leaf(entryBytes({ index: place.index, kind: 'receipt', jws: receipt }));
      expect(
        rfc.verifyInclusion(place.index, place.size, leaf, place.inclusionProof.map(hex), hex(log.root)),
      ).toBe(true);
      // The audit path is the one the RFC defines, not merely one that verifies.
      expect(place.inclusionProof).toEqual(
        rfc.auditPath(place.index, log.leaves).map((h) => h.toString('hex')),
      );
      // Members read the same on /v1.
      const member = await call(gw, 'GET', `/v1/receipts/${id}`, { key: tenant.adminToken });
      expect(member.body).toEqual(res.body);
    }
  });

  it('a consistency proof between two checkpoints verifies; a checkpoint is kept at every size', async () => {
    await execute('first');
    await sequence(gw);
    const first = await rebuildLog(asAdmin, keys);
    for (let i = 0; i < 5; i++) await execute(`more-${i}`);
    await sequence(gw);
    const second = await rebuildLog(asAdmin, keys);
    expect(second.size).toBeGreaterThan(first.size);
    // The older tree is a prefix of the newer one.
    expect(second.entries.slice(0, first.size)).toEqual(first.entries);
    for (const surface of [
      { path: '/v1', key: tenant.adminToken },
      { path: '/agp', key: tenant.agentKey },
    ]) {
      const res = await call(
        gw,
        'GET',
        `${surface.path}/ledger/consistency?from=${first.size}&to=${second.size}`,
        {
          key: surface.key,
        },
      );
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ from: first.size, to: second.size });
      const proof = (res.body.proof as string[]).map(hex);
      expect(rfc.verifyConsistency(first.size, second.size, hex(first.root), hex(second.root), proof)).toBe(
        true,
      );
      expect(proof).toEqual(rfc.consistency(first.size, second.leaves));
      // A proof against another root does not verify.
      expect(rfc.verifyConsistency(first.size, second.size, Buffer.alloc(32), hex(second.root), proof)).toBe(
        false,
      );
    }
    // The checkpoint signed at the older size is still served, byte for byte.
    const kept = await call(gw, 'GET', `/v1/ledger/checkpoint?size=${first.size}`, {
      key: tenant.adminToken,
    });
    expect(kept.body.checkpoint).toBe(first.checkpoint);
    expectError(
      await call(gw, 'GET', `/v1/ledger/checkpoint?size=${second.size + 100}`, { key: tenant.adminToken }),
      404,
      'NOT_FOUND',
    );
    for (const bad of [
      `from=0&to=${second.size}`,
      `from=${second.size}&to=${first.size}`,
      `from=1&to=${second.size + 1}`,
    ]) {
      expectError(
        await call(gw, 'GET', `/v1/ledger/consistency?${bad}`, { key: tenant.adminToken }),
        400,
        'VALIDATION_ERROR',
      );
    }
    expectError(
      await call(gw, 'GET', '/v1/ledger/entries?limit=1001', { key: tenant.adminToken }),
      400,
      'VALIDATION_ERROR',
    );
  });

  it('each checkpoint reaches ledger.checkpoint subscribers through the outbox, signed', async () => {
    await execute('hooked');
    await sequence(gw);
    await deliverDue(gw.deps, gw.notify.senders);
    const head = await call(gw, 'GET', '/v1/ledger/checkpoint', { key: tenant.adminToken });
    const hook = new Webhook(hookSecret);
    const delivered = receiver.received.map(
      (r) => hook.verify(r.body, headerRecord(r.headers)) as { type: string; data: Record<string, unknown> },
    );
    expect(delivered.every((d) => d.type === 'ledger.checkpoint')).toBe(true);
    // Deliveries run side by side, so they arrive in any order: find the newest by its size.
    const size = (head.body.payload as { size: number }).size;
    const newest = delivered.find((d) => d.data.size === size);
    expect(newest?.data).toEqual({
      checkpoint: head.body.checkpoint,
      size: (head.body.payload as { size: number }).size,
      root: (head.body.payload as { root: string }).root,
    });
    for (const d of delivered)
      await expect(compactVerify(d.data.checkpoint as string, keys)).resolves.toBeDefined();
  });

  it('deleting the newest audit event is named by GET /v1/audit/verify (issue 18, item 9)', async () => {
    const victim = await createTenant(gw, { name: `Victim ${dialect}` });
    const key = await call(gw, 'POST', '/v1/keys', { key: victim.adminToken, body: { agentId: 'gone' } });
    expect(key.status).toBe(201);
    await sequence(gw);
    const before = await call(gw, 'GET', '/v1/audit/verify', { key: victim.adminToken });
    expect(before.body).toMatchObject({ valid: true, firstBrokenId: null });
    const newest = await gw.db.reader.get(
      sql(
        'SELECT id FROM audit_events WHERE workspace_id = ? ORDER BY seq DESC LIMIT 1',
        (r) => r[0] as string,
      ),
      [victim.workspaceId],
    );
    // Whoever can write the database removes it: the chain before it is intact, the log is not.
    await gw.db.transaction({}, (tx) => tx.run(sql('DELETE FROM audit_events WHERE id = ?'), [newest]));
    const after = await call(gw, 'GET', '/v1/audit/verify', { key: victim.adminToken });
    expect(after.body).toMatchObject({ valid: false, firstBrokenId: newest });
    // Other workspaces are not affected.
    expect((await call(gw, 'GET', '/v1/audit/verify', { key: tenant.adminToken })).body).toMatchObject({
      valid: true,
    });
  });

  it('50 racing executes with sequencers running at the same time: one log, no duplicate, no gap', async () => {
    const racer = await createTenant(gw, { name: `Race ${dialect}` });
    let stop = false;
    const sequencers = Array.from({ length: 3 }, async () => {
      while (!stop) {
        await sequence(gw);
        await turn();
      }
    });
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        call(gw, 'POST', '/agp/execute', {
          key: racer.agentKey,
          body: { businessId: 'echo', request: { action: 'order', sku: `r${i}`, amount_cents: 1 } },
        }),
      ),
    );
    stop = true;
    await Promise.all(sequencers);
    await sequence(gw);
    expect(answers.map((a) => a.status).filter((s) => s !== 200)).toEqual([]);
    const log = await rebuildLog((path) => call(gw, 'GET', path, { key: racer.adminToken }), keys);
    const receipts = log.entries
      .filter((e) => e.kind === 'receipt')
      .map((e) => (e.kind === 'receipt' ? e.jws : ''));
    expect(new Set(receipts).size).toBe(50);
    expect([...receipts].sort()).toEqual(answers.map((a) => a.body.receipt as string).sort());
    const waiting = await gw.db.reader.get(sql('SELECT count(*) FROM ledger_queue', (r) => Number(r[0])));
    expect(waiting).toBe(0);
  });
});
