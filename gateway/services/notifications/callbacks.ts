import type { Conn } from '../../db/types.ts';
import type { Transaction } from '../../domain/index.ts';
import { newId } from '../../ids.ts';
import { appendAudit } from '../../repositories/audit.ts';
import { setCallbackSecret } from '../../repositories/callback-secrets.ts';
import { insertOutbox } from '../../repositories/outbox.ts';
import { newSigningSecret } from '../../secrets.ts';
import { type ServiceContext, type StepContext, workspaceOf } from '../context.ts';
import { auditEvent } from '../ledger/index.ts';

/** What an evaluation's `webhook_url` receives (DESIGN §5; seed 000 §2.1). */
export type CallbackType = 'approval_required' | 'terminal_outcome';

/**
 * Queues a callback to an evaluation's `webhook_url` in the caller's transaction (the outbox,
 * DESIGN §2): delivered with retries, signed with Standard Webhooks under the workspace's
 * callback secret. An evaluation without a `webhook_url` writes nothing.
 */
export async function queueCallback(
  tx: Conn,
  _ctx: StepContext<never>,
  input: {
    transaction: Pick<Transaction, 'id' | 'workspaceId' | 'callbackUrl'>;
    type: CallbackType;
    data: Record<string, unknown>;
    at: number;
  },
): Promise<void> {
  const { transaction: txn, type, data, at } = input;
  if (!txn.callbackUrl) return;
  const event = {
    id: newId('event'),
    type,
    timestamp: new Date(at).toISOString(),
    data: { evaluation_id: txn.id, ...data },
  };
  await insertOutbox(tx, {
    id: newId('outbox'),
    workspaceId: txn.workspaceId,
    kind: 'callback',
    targetId: txn.id,
    payload: { url: txn.callbackUrl, event },
    at,
  });
}

/** The evaluate-only status names (DESIGN §5) of a transaction status. */
export function evaluationStatus(status: Transaction['status']): string {
  switch (status) {
    case 'approved':
      return 'approved';
    case 'pending_approval':
      return 'pending_human';
    default:
      return status;
  }
}

/**
 * POST /v1/webhooks/callback-secret (admins): a new Standard Webhooks secret for evaluation
 * callbacks, shown once, stored sealed; it replaces the previous one at once. Audited.
 */
export async function rotateCallbackSecret({ ctx }: { ctx: ServiceContext }): Promise<{ secret: string }> {
  const workspaceId = workspaceOf(ctx);
  const { deps } = ctx;
  const secret = newSigningSecret();
  const at = deps.clock();
  const audit = auditEvent(ctx, 'webhook.callback_secret_rotated', workspaceId, {}, at);
  await deps.db.transaction({ workspaceId }, async (tx) => {
    await setCallbackSecret(tx, workspaceId, deps.sealer.seal(secret));
    await appendAudit(tx, audit);
  });
  return { secret };
}
