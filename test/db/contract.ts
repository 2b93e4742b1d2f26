import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../gateway/db/types.ts';
import { sql } from '../../gateway/db/types.ts';
import type { AgentKey, Transaction } from '../../gateway/domain/index.ts';
import { newId } from '../../gateway/ids.ts';
import { configVersion } from '../../gateway/repositories/config.ts';
import * as outbox from '../../gateway/repositories/outbox.ts';
import * as policies from '../../gateway/repositories/policies.ts';
import * as tenancy from '../../gateway/repositories/tenancy.ts';
import * as tokens from '../../gateway/repositories/tokens.ts';
import * as ledger from '../../gateway/repositories/transactions.ts';
import { admit } from '../../gateway/services/execute/admission.ts';
import { Subscriptions } from '../../gateway/services/notifications/subscriptions.ts';

/**
 * The database contract (DESIGN §8): every dialect runs this same suite against the one
 * transaction primitive and the repositories. `open` gives a fresh, migrated, empty database.
 */
export function dbContract(dialect: string, open: () => Promise<{ db: Db; dispose: () => Promise<void> }>) {
  describe(`database contract: ${dialect}`, () => {
    let db: Db;
    let dispose: () => Promise<void>;
    const deps = { subscriptions: new Subscriptions() };
    const now = Date.parse('2026-11-24T12:00:00Z');
    let workspaceId: string;

    beforeAll(async () => {
      ({ db, dispose } = await open());
      workspaceId = newId('workspace');
      await db.transaction({ workspaceId }, (tx) =>
        tenancy.insertWorkspace(tx, { id: workspaceId, name: 'W', createdAt: now }),
      );
    });
    afterAll(async () => dispose());

    const txn = (over: Partial<Transaction> = {}): Transaction => ({
      id: newId('transaction'),
      workspaceId,
      agentKeyId: 'key_1',
      agentId: 'agent',
      businessId: 'shop',
      operation: 'execute',
      status: 'pending',
      request: { a: 1 },
      requestHash: 'rh',
      amount: 10,
      currency: 'USD',
      data: null,
      error: null,
      decision: null,
      policyVersionId: null,
      policyName: 'default',
      businessCategory: 'retail',
      spendState: 'none',
      releaseAt: null,
      approvalId: null,
      idempotencyKey: null,
      requestId: null,
      callbackUrl: null,
      mcp: null,
      costMicros: null,
      traceId: null,
      traceContext: null,
      oauthClientId: null,
      createdAt: now,
      updatedAt: now,
      ...over,
    });
    const token = (hash: string, expiresAt = now + 60_000) => ({
      tokenHash: hash,
      workspaceId,
      agentKeyId: 'key_1',
      businessId: 'shop',
      requestHash: 'rh',
      summary: 's',
      createdAt: now,
      expiresAt,
    });
    const claim = (hash: string) => ({
      tokenHash: hash,
      agentKeyId: 'key_1',
      businessId: 'shop',
      requestHash: 'rh',
      now,
    });
    const admitNew = (
      transaction: Transaction,
      extra: { token?: ReturnType<typeof claim>; idempotency?: tokens.IdempotencyClaim } = {},
    ) =>
      db.transaction({ workspaceId }, (tx) =>
        admit(tx, { deps }, { subject: { kind: 'new', transaction, ...extra }, now: transaction.createdAt }),
      );
    const read = (id: string) => ledger.getTransaction(db.reader, workspaceId, id);

    describe('transactions', () => {
      it('commit concurrent transactions together, each atomically; a failing one is rolled back alone', async () => {
        const ids = Array.from({ length: 20 }, () => newId('workspace'));
        const results = await Promise.allSettled(
          ids.map((id, i) =>
            db.transaction({}, async (tx) => {
              await tenancy.insertWorkspace(tx, { id, name: `w${i}`, createdAt: now });
              // Every fifth fails after its insert: its insert must not survive, the others must.
              if (i % 5 === 4) await tenancy.insertWorkspace(tx, { id, name: 'dup', createdAt: now });
              return i;
            }),
          ),
        );
        expect(results.map((r) => r.status)).toEqual(
          ids.map((_, i) => (i % 5 === 4 ? 'rejected' : 'fulfilled')),
        );
        const count = sql(
          `SELECT count(*) FROM workspaces WHERE id IN (${ids.map(() => '?').join(', ')})`,
          (r) => Number(r[0]),
        );
        expect(await db.reader.get(count, ids)).toBe(16);
      });

      it('serialise read-then-write steps of one workspace: 40 racing increments lose none', async () => {
        const name = `counter-${newId('event')}`;
        const get = sql('SELECT name FROM workspaces WHERE id = ?', (r) => r[0] as string);
        const set = sql('UPDATE workspaces SET name = ? WHERE id = ?');
        await db.transaction({ workspaceId }, (tx) => tx.run(set, ['0', workspaceId]));
        await Promise.all(
          Array.from({ length: 40 }, () =>
            db.transaction({ workspaceId }, async (tx) => {
              const current = Number(await tx.get(get, [workspaceId]));
              await tx.run(set, [String(current + 1), workspaceId]);
            }),
          ),
        );
        expect(await db.reader.get(get, [workspaceId])).toBe('40');
        await db.transaction({ workspaceId }, (tx) => tx.run(set, [name, workspaceId]));
      });
    });

    describe('admission', () => {
      it('admits once per token, however many admissions race', async () => {
        await db.transaction({}, (tx) => tokens.insertToken(tx, token('t-race')));
        const results = await Promise.all(
          Array.from({ length: 30 }, () => admitNew(txn(), { token: claim('t-race') })),
        );
        expect(results.filter((r) => r.outcome === 'forward')).toHaveLength(1);
        expect(results.filter((r) => r.outcome === 'token_taken')).toHaveLength(29);
        expect(await tokens.findToken(db.reader, 't-race')).toBeUndefined();
      });

      it('does not consume a token bound to another request, agent key or business, nor an expired one', async () => {
        await db.transaction({}, (tx) => tokens.insertToken(tx, token('t-bound')));
        for (const wrong of [
          { ...claim('t-bound'), requestHash: 'other' },
          { ...claim('t-bound'), agentKeyId: 'key_2' },
          { ...claim('t-bound'), businessId: 'elsewhere' },
          { ...claim('t-bound'), now: now + 60_000 },
        ]) {
          const t = txn();
          expect(await admitNew(t, { token: wrong })).toEqual({ outcome: 'token_taken' });
          expect(await read(t.id)).toBeUndefined();
        }
        expect(await tokens.findToken(db.reader, 't-bound')).toBeDefined();
      });

      it('claims an idempotency key once; a refused admission leaves no claim behind', async () => {
        const idem = { agentKeyId: 'key_1', key: 'k1', requestHash: 'bh', expiresAt: now + 1000 };
        const refused = await admitNew(txn({ idempotencyKey: 'k1' }), {
          token: claim('t-missing'),
          idempotency: idem,
        });
        expect(refused).toEqual({ outcome: 'token_taken' });
        expect(await tokens.findIdempotency(db.reader, 'key_1', 'k1')).toBeUndefined();

        const results = await Promise.all([
          admitNew(txn({ idempotencyKey: 'k1' }), { idempotency: idem }),
          admitNew(txn({ idempotencyKey: 'k1' }), { idempotency: idem }),
        ]);
        expect(results.filter((r) => r.outcome === 'forward')).toHaveLength(1);
        expect(results.find((r) => r.outcome === 'key_taken')).toMatchObject({
          record: { requestHash: 'bh', response: null },
        });
      });

      it('reserves the amount of every admitted execute, policy or not, in the workspace', async () => {
        const own = newId('workspace');
        await db.transaction({}, (tx) =>
          tenancy.insertWorkspace(tx, { id: own, name: 'spend', createdAt: now }),
        );
        const window = { workspaceId: own, since: now - 60_000, currency: 'USD' };
        const a = txn({ workspaceId: own, amount: 700 });
        const b = txn({ workspaceId: own, amount: 300, businessCategory: 'food' });
        await db.transaction({ workspaceId: own }, (tx) =>
          admit(tx, { deps }, { subject: { kind: 'new', transaction: a }, now }),
        );
        await db.transaction({ workspaceId: own }, (tx) =>
          admit(tx, { deps }, { subject: { kind: 'new', transaction: b }, now }),
        );
        expect(await ledger.sumSpend(db.reader, window)).toEqual({ pending: 1000, posted: 0 });
        expect(await ledger.sumSpend(db.reader, { ...window, categories: ['food'] })).toEqual({
          pending: 300,
          posted: 0,
        });
        // Posted once on success, voided once on failure; a second settle moves nothing.
        for (const [t, status] of [
          [a, 'succeeded'],
          [b, 'failed'],
        ] as const) {
          for (let i = 0; i < 2; i++) {
            await db.transaction({}, async (tx) => {
              const done = await ledger.finish(tx, {
                id: t.id,
                status,
                data: null,
                error: null,
                at: now,
                from: ['pending', 'unknown'],
              });
              if (done) await ledger.settleSpend(tx, done);
            });
          }
        }
        expect(await ledger.sumSpend(db.reader, window)).toEqual({ pending: 0, posted: 700 });
        expect((await ledger.getTransaction(db.reader, own, a.id))?.spendState).toBe('posted');
        expect((await ledger.getTransaction(db.reader, own, b.id))?.spendState).toBe('voided');
      });
    });

    describe('outcomes', () => {
      it('finishes a transaction once and stores the idempotent answer with it', async () => {
        const t = txn({ idempotencyKey: 'k-finish' });
        const idem = { agentKeyId: 'key_1', key: 'k-finish', requestHash: 'bh', expiresAt: now + 1000 };
        await admitNew(t, { idempotency: idem });
        const response = { status: 200, body: { transactionId: t.id, status: 'succeeded' } };
        const first = await db.transaction({}, async (tx) => {
          const done = await ledger.finish(tx, {
            id: t.id,
            status: 'succeeded',
            data: { ok: true },
            error: null,
            at: now + 5,
            from: ['pending', 'unknown'],
          });
          await tokens.answerIdempotency(tx, 'key_1', 'k-finish', response);
          return done;
        });
        expect(first?.status).toBe('succeeded');
        // A late second finish changes nothing.
        const second = await db.transaction({}, (tx) =>
          ledger.finish(tx, {
            id: t.id,
            status: 'failed',
            data: null,
            error: null,
            at: now + 9,
            from: ['pending', 'unknown'],
          }),
        );
        expect(second).toBeUndefined();
        expect(await read(t.id)).toMatchObject({
          status: 'succeeded',
          data: { ok: true },
          updatedAt: now + 5,
        });
        expect((await tokens.findIdempotency(db.reader, 'key_1', 'k-finish'))?.response).toEqual(response);
        expect(await ledger.getTransaction(db.reader, 'ws_other', t.id)).toBeUndefined();
      });

      it('takes over an expired, answered idempotency record that was not swept yet', async () => {
        const idem = { agentKeyId: 'key_1', key: 'k-old', requestHash: 'old', expiresAt: now - 1 };
        const first = txn({ createdAt: now - 10, idempotencyKey: 'k-old' });
        await admitNew(first, { idempotency: idem });
        await db.transaction({}, (tx) =>
          tokens.answerIdempotency(tx, 'key_1', 'k-old', { status: 200, body: {} }),
        );
        const again = await admitNew(txn({ idempotencyKey: 'k-old' }), {
          idempotency: { ...idem, requestHash: 'new', expiresAt: now + 1000 },
        });
        expect(again.outcome).toBe('forward');
        expect((await tokens.findIdempotency(db.reader, 'key_1', 'k-old'))?.requestHash).toBe('new');
      });

      it('never takes over or sweeps an unanswered record (an unknown outcome settles through it)', async () => {
        const idem = { agentKeyId: 'key_1', key: 'k-unknown', requestHash: 'old', expiresAt: now - 1 };
        const first = txn({ createdAt: now - 10, idempotencyKey: 'k-unknown' });
        await admitNew(first, { idempotency: idem });
        const again = await admitNew(txn(), {
          idempotency: { ...idem, requestHash: 'new', expiresAt: now + 1000 },
        });
        expect(again.outcome).toBe('key_taken');
        await db.transaction({}, (tx) => tokens.sweepIdempotency(tx, now + 1));
        expect((await tokens.findIdempotency(db.reader, 'key_1', 'k-unknown'))?.transactionId).toBe(first.id);
      });

      it('marks orphaned executes unknown (reservation kept) and orphaned reads failed', async () => {
        const old = now - 100_000;
        const stale = txn({ idempotencyKey: 'k-stale', createdAt: old, updatedAt: old });
        const staleRead = txn({ operation: 'query', amount: null, createdAt: old, updatedAt: old });
        const fresh = txn();
        await admitNew(stale, {
          idempotency: { agentKeyId: 'key_1', key: 'k-stale', requestHash: 'x', expiresAt: now + 1000 },
        });
        await db.transaction({}, (tx) => ledger.insertTransaction(tx, staleRead));
        await admitNew(fresh);
        const marked = await db.transaction({}, (tx) =>
          ledger.markOrphans(tx, now - 50_000, now, {
            execute: { code: 'OUTCOME_UNKNOWN', message: 'm' },
            read: { code: 'INTERRUPTED', message: 'r' },
          }),
        );
        expect(marked.unknown).toBeGreaterThanOrEqual(1);
        expect(await read(stale.id)).toMatchObject({
          status: 'unknown',
          spendState: 'pending',
          error: { code: 'OUTCOME_UNKNOWN', message: 'm' },
        });
        expect(await read(staleRead.id)).toMatchObject({
          status: 'failed',
          error: { code: 'INTERRUPTED', message: 'r' },
        });
        expect((await read(fresh.id))?.status).toBe('pending');
        // No answer is stored: a repeat with the key forwards again instead of replaying a failure.
        expect((await tokens.findIdempotency(db.reader, 'key_1', 'k-stale'))?.response).toBeNull();
        // Claimed once for the repeat, however many race; another workspace cannot claim it.
        expect(
          await db.transaction({}, (tx) => ledger.claimUnknown(tx, 'ws_other', stale.id, now + 1)),
        ).toBeUndefined();
        const claims = await Promise.all(
          Array.from({ length: 10 }, () =>
            db.transaction({}, (tx) => ledger.claimUnknown(tx, workspaceId, stale.id, now + 1)),
          ),
        );
        expect(claims.filter(Boolean)).toHaveLength(1);
      });
    });

    describe('outbox', () => {
      it("keeps a receiver's error holding a NUL or a cut surrogate pair (the delivery is not stuck)", async () => {
        const id = newId('outbox');
        await db.transaction({}, (tx) =>
          outbox.insertOutbox(tx, {
            id,
            workspaceId: null,
            kind: 'webhook',
            targetId: 'whk_x',
            payload: {},
            at: 1,
          }),
        );
        const answer = `HTTP 500: ${'x'.repeat(988)}\u0000😀`;
        await db.transaction({}, (tx) => outbox.failOutbox(tx, id, answer, 2, 3));
        const [item] = await outbox.listOutbox(db.reader, 'whk_x', 1);
        expect(item).toMatchObject({ status: 'pending', attempts: 1 });
        expect(item?.lastError).toBe(`HTTP 500: ${'x'.repeat(988)}\uFFFD\uFFFD`);
      });
    });

    describe('tenancy and tokens', () => {
      it('revokes a key once, only within its workspace', async () => {
        const key: AgentKey = {
          id: newId('agentKey'),
          workspaceId,
          agentId: 'a',
          keyHash: `kh-${Math.random()}`,
          keyPrefix: 'wk_x',
          scopes: ['execute'],
          policyName: null,
          createdBy: null,
          createdAt: now,
          revokedAt: null,
        };
        await db.transaction({ workspaceId }, (tx) => tenancy.insertAgentKey(tx, key));
        expect(await db.transaction({}, (tx) => tenancy.revokeAgentKey(tx, 'ws_other', key.id, now))).toBe(
          false,
        );
        const both = await Promise.all([
          db.transaction({ workspaceId }, (tx) => tenancy.revokeAgentKey(tx, workspaceId, key.id, now)),
          db.transaction({ workspaceId }, (tx) => tenancy.revokeAgentKey(tx, workspaceId, key.id, now)),
        ]);
        expect(both.filter(Boolean)).toHaveLength(1);
        expect(await tenancy.findAgentKeyByHash(db.reader, key.keyHash)).toMatchObject({
          revokedAt: now,
          scopes: ['execute'],
        });
      });

      it('refuses a taken business id without touching the first', async () => {
        const b = {
          id: 'dup',
          name: 'One',
          category: 'c',
          description: '',
          adapter: { type: 'echo' as const },
          signingSecret: 's1',
          createdAt: now,
          status: 'live' as const,
          sandboxWorkspaces: [],
          previousSigningSecret: null,
          previousSecretUntil: null,
        };
        expect(await db.transaction({}, (tx) => tenancy.insertBusiness(tx, b))).toBe(true);
        expect(
          await db.transaction({}, (tx) =>
            tenancy.insertBusiness(tx, { ...b, name: 'Two', signingSecret: 's2' }),
          ),
        ).toBe(false);
        expect(await tenancy.getBusiness(db.reader, 'dup')).toMatchObject({
          name: 'One',
          signingSecret: 's1',
          adapter: { type: 'echo' },
        });
      });

      it('searches the directory without case and with LIKE metacharacters taken literally', async () => {
        const b = (id: string, name: string) => ({
          id,
          name,
          category: 'search',
          description: `${name} description`,
          adapter: { type: 'echo' as const },
          signingSecret: 's',
          createdAt: now,
          status: 'live' as const,
          sandboxWorkspaces: [],
          previousSigningSecret: null,
          previousSecretUntil: null,
        });
        await db.transaction({}, async (tx) => {
          await tenancy.insertBusiness(tx, b('fifty', 'Fifty% Off'));
          await tenancy.insertBusiness(tx, b('fiftyx', 'FiftyX Off'));
        });
        const ids = async (q: string) =>
          (await tenancy.listBusinesses(db.reader, { q, category: 'search' })).map((x) => x.id);
        expect(await ids('fifty')).toEqual(['fifty', 'fiftyx']);
        expect(await ids('FIFTY%')).toEqual(['fifty']);
      });

      it('moves the config version with every change the execute path caches, and only then', async () => {
        const version = () => configVersion(db.reader);
        const before = await version();
        const key: AgentKey = {
          id: newId('agentKey'),
          workspaceId,
          agentId: 'versioned',
          keyHash: `kv-${Math.random()}`,
          keyPrefix: 'wk_v',
          scopes: ['execute'],
          policyName: null,
          createdBy: null,
          createdAt: now,
          revokedAt: null,
        };
        await db.transaction({ workspaceId }, (tx) => tenancy.insertAgentKey(tx, key));
        expect(await version()).toBe(before + 1);
        await db.transaction({}, (tx) => tenancy.revokeAgentKey(tx, workspaceId, key.id, now));
        expect(await version()).toBe(before + 2);
        // A revoke that changed nothing, a taken business id: no move.
        await db.transaction({}, (tx) => tenancy.revokeAgentKey(tx, workspaceId, key.id, now));
        const business = {
          id: `v-${Math.random()}`,
          name: 'V',
          category: 'c',
          description: '',
          adapter: { type: 'echo' as const },
          signingSecret: 's',
          createdAt: now,
          status: 'live' as const,
          sandboxWorkspaces: [],
          previousSigningSecret: null,
          previousSecretUntil: null,
        };
        await db.transaction({}, (tx) => tenancy.insertBusiness(tx, business));
        await db.transaction({}, (tx) => tenancy.insertBusiness(tx, business));
        expect(await version()).toBe(before + 3);
        await db.transaction({ workspaceId }, (tx) =>
          policies.insertVersion(tx, {
            id: newId('policyVersion'),
            workspaceId,
            name: 'v',
            version: 1,
            document: {},
            contentHash: 'h',
            createdBy: null,
            createdAt: now,
            commit: null,
          }),
        );
        expect(await version()).toBe(before + 4);
      });

      it('sweeps only tokens that expired before the cut-off', async () => {
        await db.transaction({}, async (tx) => {
          await tokens.insertToken(tx, token('t-old', now - 10));
          await tokens.insertToken(tx, token('t-live', now + 10));
        });
        await db.transaction({}, (tx) => tokens.sweepTokens(tx, now));
        expect(await tokens.findToken(db.reader, 't-old')).toBeUndefined();
        expect(await tokens.findToken(db.reader, 't-live')).toBeDefined();
      });
    });
  });
}
