import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../gateway/ids.ts';
import type { AuditEvent, Store, Transaction } from '../../gateway/store/types.ts';

/**
 * The store contract (DESIGN §8): every dialect runs this same suite. `open` gives a fresh,
 * migrated, empty store; `dispose` drops it.
 */
export function storeContract(
  dialect: string,
  open: () => Promise<{ store: Store; dispose: () => Promise<void> }>,
) {
  describe(`store contract: ${dialect}`, () => {
    let store: Store;
    let dispose: () => Promise<void>;
    const now = Date.parse('2026-11-24T12:00:00Z');
    const audit = (action: string): AuditEvent => ({
      id: newId('audit'),
      workspaceId: null,
      actorType: 'system',
      actorId: null,
      action,
      target: null,
      data: {},
      createdAt: now,
    });
    let workspaceId: string;

    beforeAll(async () => {
      ({ store, dispose } = await open());
      workspaceId = newId('workspace');
      await store.createWorkspace(
        { id: workspaceId, name: 'W', createdAt: now },
        {
          id: newId('member'),
          workspaceId,
          email: 'a@w.test',
          role: 'admin',
          tokenHash: `h-${workspaceId}`,
          createdAt: now,
        },
        audit('workspace.created'),
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

    it('admits once per token, however many admissions race', async () => {
      await store.insertConfirmationToken(token('t-race'));
      const results = await Promise.all(
        Array.from({ length: 30 }, () => store.admitExecute({ transaction: txn(), token: claim('t-race') })),
      );
      expect(results.filter((r) => r.admitted)).toHaveLength(1);
      expect(await store.findConfirmationToken('t-race')).toBeUndefined();
    });

    it('does not consume a token bound to another request, agent key or business, nor an expired one', async () => {
      await store.insertConfirmationToken(token('t-bound'));
      for (const wrong of [
        { ...claim('t-bound'), requestHash: 'other' },
        { ...claim('t-bound'), agentKeyId: 'key_2' },
        { ...claim('t-bound'), businessId: 'elsewhere' },
        { ...claim('t-bound'), now: now + 60_000 },
      ]) {
        const t = txn();
        expect(await store.admitExecute({ transaction: t, token: wrong })).toEqual({
          admitted: false,
          reason: 'token_consumed',
        });
        expect(await store.getTransaction(workspaceId, t.id)).toBeUndefined();
      }
      expect(await store.findConfirmationToken('t-bound')).toBeDefined();
    });

    it('claims an idempotency key once; a refused admission leaves no claim behind', async () => {
      const idem = { agentKeyId: 'key_1', key: 'k1', requestHash: 'bh', expiresAt: now + 1000 };
      const refused = await store.admitExecute({
        transaction: txn(),
        token: claim('t-missing'),
        idempotency: idem,
      });
      expect(refused).toEqual({ admitted: false, reason: 'token_consumed' });
      expect(await store.findIdempotencyRecord('key_1', 'k1')).toBeUndefined();

      const first = txn({ idempotencyKey: 'k1' });
      const results = await Promise.all([
        store.admitExecute({ transaction: first, idempotency: idem }),
        store.admitExecute({ transaction: txn(), idempotency: idem }),
      ]);
      expect(results.filter((r) => r.admitted)).toHaveLength(1);
      const conflict = results.find((r) => !r.admitted);
      expect(conflict).toMatchObject({
        reason: 'idempotency_conflict',
        record: { requestHash: 'bh', response: null },
      });
    });

    it('finishes a transaction once and stores the idempotent answer with it', async () => {
      const t = txn({ idempotencyKey: 'k-finish' });
      const idem = { agentKeyId: 'key_1', key: 'k-finish', requestHash: 'bh', expiresAt: now + 1000 };
      await store.admitExecute({ transaction: t, idempotency: idem });
      const response = { status: 200, body: { transactionId: t.id, status: 'succeeded' } };
      await store.finishTransaction({
        transactionId: t.id,
        status: 'succeeded',
        data: { ok: true },
        error: null,
        at: now + 5,
        idempotency: { agentKeyId: 'key_1', key: 'k-finish', response },
      });
      // A late second finish (e.g. the stale sweep) changes nothing.
      await store.finishTransaction({
        transactionId: t.id,
        status: 'failed',
        data: null,
        error: null,
        at: now + 9,
      });
      expect(await store.getTransaction(workspaceId, t.id)).toMatchObject({
        status: 'succeeded',
        data: { ok: true },
        updatedAt: now + 5,
      });
      expect((await store.findIdempotencyRecord('key_1', 'k-finish'))?.response).toEqual(response);
      expect(await store.getTransaction('ws_other', t.id)).toBeUndefined();
    });

    it('takes over an expired, answered idempotency record that was not swept yet', async () => {
      const idem = { agentKeyId: 'key_1', key: 'k-old', requestHash: 'old', expiresAt: now - 1 };
      const first = txn({ createdAt: now - 10 });
      await store.admitExecute({ transaction: first, idempotency: idem });
      await store.finishTransaction({
        transactionId: first.id,
        status: 'succeeded',
        data: null,
        error: null,
        at: now - 5,
        idempotency: { agentKeyId: 'key_1', key: 'k-old', response: { status: 200, body: {} } },
      });
      const again = await store.admitExecute({
        transaction: txn(),
        idempotency: { ...idem, requestHash: 'new', expiresAt: now + 1000 },
      });
      expect(again).toMatchObject({ admitted: true });
      expect((await store.findIdempotencyRecord('key_1', 'k-old'))?.requestHash).toBe('new');
    });

    it('never takes over or sweeps an unanswered record (an unknown outcome settles through it)', async () => {
      const idem = { agentKeyId: 'key_1', key: 'k-unknown', requestHash: 'old', expiresAt: now - 1 };
      const first = txn({ createdAt: now - 10 });
      await store.admitExecute({ transaction: first, idempotency: idem });
      const again = await store.admitExecute({
        transaction: txn(),
        idempotency: { ...idem, requestHash: 'new', expiresAt: now + 1000 },
      });
      expect(again).toMatchObject({ admitted: false, reason: 'idempotency_conflict' });
      await store.sweepIdempotencyRecords(now + 1);
      expect((await store.findIdempotencyRecord('key_1', 'k-unknown'))?.transactionId).toBe(first.id);
    });

    it('marks orphaned executes unknown (reservation kept) and orphaned reads failed', async () => {
      const stale = txn({ idempotencyKey: 'k-stale', createdAt: now - 100_000, updatedAt: now - 100_000 });
      const staleRead = txn({
        operation: 'query',
        amount: null,
        createdAt: now - 100_000,
        updatedAt: now - 100_000,
      });
      const fresh = txn();
      await store.admitExecute({
        transaction: stale,
        idempotency: { agentKeyId: 'key_1', key: 'k-stale', requestHash: 'x', expiresAt: now + 1000 },
      });
      await store.insertTransaction(staleRead);
      await store.admitExecute({ transaction: fresh });
      const marked = await store.markOrphans(now - 50_000, now, {
        execute: { code: 'OUTCOME_UNKNOWN', message: 'm' },
        read: { code: 'INTERRUPTED', message: 'r' },
      });
      expect(marked.unknown).toBeGreaterThanOrEqual(1);
      expect(await store.getTransaction(workspaceId, stale.id)).toMatchObject({
        status: 'unknown',
        spendState: 'pending',
        error: { code: 'OUTCOME_UNKNOWN', message: 'm' },
      });
      expect(await store.getTransaction(workspaceId, staleRead.id)).toMatchObject({
        status: 'failed',
        error: { code: 'INTERRUPTED', message: 'r' },
      });
      expect((await store.getTransaction(workspaceId, fresh.id))?.status).toBe('pending');
      // No answer is stored: a repeat with the key forwards again instead of replaying a failure.
      expect((await store.findIdempotencyRecord('key_1', 'k-stale'))?.response).toBeNull();
      // Claimed once for the repeat; a second claim finds it taken.
      expect((await store.claimUnknown(workspaceId, stale.id, now + 1))?.status).toBe('pending');
      expect(await store.claimUnknown(workspaceId, stale.id, now + 1)).toBeUndefined();
    });

    it('revokes a key once, only within its workspace', async () => {
      const key = {
        id: newId('agentKey'),
        workspaceId,
        agentId: 'a',
        keyHash: `kh-${Math.random()}`,
        keyPrefix: 'wk_x',
        scopes: ['execute' as const],
        policyName: null,
        createdBy: null,
        createdAt: now,
        revokedAt: null,
      };
      await store.createAgentKey(key, audit('k'));
      expect(await store.revokeAgentKey('ws_other', key.id, now, audit('r'))).toBe(false);
      const both = await Promise.all([
        store.revokeAgentKey(workspaceId, key.id, now, audit('r')),
        store.revokeAgentKey(workspaceId, key.id, now, audit('r')),
      ]);
      expect(both.filter(Boolean)).toHaveLength(1);
      expect((await store.findAgentKeyByHash(key.keyHash))?.revokedAt).toBe(now);
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
      };
      expect(await store.createBusiness(b, audit('b'))).toBe(true);
      expect(await store.createBusiness({ ...b, name: 'Two', signingSecret: 's2' }, audit('b'))).toBe(false);
      expect(await store.getBusiness('dup')).toMatchObject({ name: 'One', signingSecret: 's1' });
    });

    it('sweeps only tokens that expired before the cut-off', async () => {
      await store.insertConfirmationToken(token('t-old', now - 10));
      await store.insertConfirmationToken(token('t-live', now + 10));
      await store.sweepConfirmationTokens(now);
      expect(await store.findConfirmationToken('t-old')).toBeUndefined();
      expect(await store.findConfirmationToken('t-live')).toBeDefined();
    });
  });
}
