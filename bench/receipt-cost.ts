import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { signCompact } from '../gateway/crypto/jws.ts';
import { createSealer } from '../gateway/crypto/sealing.ts';
import { openDatabase } from '../gateway/db/open.ts';
import { sql } from '../gateway/db/types.ts';
import type { Deps } from '../gateway/services/context.ts';
import { issueReceipt, type ReceiptSubject } from '../gateway/services/ledger/receipts.ts';
import { SigningKeys } from '../gateway/services/ledger/signing-keys.ts';
import { canonicalHash } from '../policy/canonical.ts';

/**
 * What a receipt costs an execute (issue 10), in CPU time on one core, on the embedded database:
 * the Ed25519 signature alone; then the whole step as the outcome transaction runs it (the payload,
 * the signature, the hash, the insert and the ledger-queue row its trigger adds; a version 2 receipt
 * reads no other), measured as the difference between
 * group-committed batches of 8 transactions that issue one receipt each and the same batches that
 * do a comparable insert without one.
 */
export async function benchReceiptCost(): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-receipt-bench-'));
  const db = await openDatabase(`file:${join(dir, 'bench.db')}`);
  try {
    const signingKeys = new SigningKeys(db, createSealer('receipt-bench-secrets-key-0123456789abcdef'));
    await signingKeys.init(Date.now());
    const deps = { signingKeys } as unknown as Deps;
    const { kid, key } = signingKeys.current();
    const subject = (i: number): ReceiptSubject => ({
      id: `txn_bench_${i}`,
      workspaceId: 'ws_bench',
      agentId: 'agent-1',
      businessId: 'shop',
      operation: 'execute',
      status: 'succeeded',
      amount: 1200,
      currency: 'USD',
      requestHash: canonicalHash({ sku: `sku-${i}`, amount_cents: 1200 }),
      data: { order: `o-${i}`, total: 1200 },
      decision: null,
      policyName: 'default',
      approvalId: null,
    });
    const cpu = async (n: number, fn: (i: number) => unknown): Promise<number> => {
      const start = process.cpuUsage();
      for (let i = 0; i < n; i++) await fn(i);
      const used = process.cpuUsage(start);
      return (used.user + used.system) / n;
    };

    const payload = JSON.stringify({ ...subject(0), v: 2, issuedAt: new Date().toISOString() });
    await cpu(2_000, () => signCompact({ kid }, payload, key));
    const signUs = await cpu(20_000, () => signCompact({ kid }, payload, key));

    const BATCH = 8;
    const batches = 600;
    const dummy = sql(
      'INSERT INTO receipts (transaction_id, workspace_id, seq, jws, hash, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    let n = 0;
    const withReceipts = (i: number) =>
      Promise.all(
        Array.from({ length: BATCH }, (_, j) =>
          db.transaction({ workspaceId: 'ws_bench' }, (tx) =>
            issueReceipt(tx, deps, subject(i * BATCH + j), Date.now()),
          ),
        ),
      );
    const plain = (i: number) =>
      Promise.all(
        Array.from({ length: BATCH }, (_, j) =>
          db.transaction({ workspaceId: 'ws_other' }, (tx) =>
            tx.run(dummy, [
              `txn_plain_${i}_${j}_${n++}`,
              'ws_other',
              i * BATCH + j + 1,
              'x'.repeat(700),
              'h'.repeat(64),
              1,
            ]),
          ),
        ),
      );
    await cpu(50, withReceipts);
    await cpu(50, plain);
    const receiptBatchUs = await cpu(batches, (i) => withReceipts(i + 50));
    const plainBatchUs = await cpu(batches, (i) => plain(i + 50));
    return {
      signUs,
      receiptUs: (receiptBatchUs - plainBatchUs) / BATCH,
      withReceiptPerTxnUs: receiptBatchUs / BATCH,
      plainPerTxnUs: plainBatchUs / BATCH,
    };
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await benchReceiptCost();
  console.log(
    `receipt: Ed25519 signature ${r.signUs?.toFixed(1)} µs CPU; whole step (payload, sign, hash, insert) ` +
      `${r.receiptUs?.toFixed(1)} µs CPU per execute (${r.withReceiptPerTxnUs?.toFixed(1)} vs ` +
      `${r.plainPerTxnUs?.toFixed(1)} µs per transaction with and without)`,
  );
}
