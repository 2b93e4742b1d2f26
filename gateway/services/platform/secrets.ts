import type { Conn } from '../../db/types.ts';
import { listPreviousBusinessSecrets, resealPreviousBusinessSecret } from '../../repositories/businesses.ts';
import { listWebhookSecrets, resealWebhookSecret } from '../../repositories/outbox.ts';
import { listSigningKeys, resealSigningKey } from '../../repositories/signing-keys.ts';
import { listSsoSecrets, resealSsoSecret } from '../../repositories/sso.ts';
import {
  listBusinessSecrets,
  listCallbackSecrets,
  resealBusinessSecret,
  resealCallbackSecret,
} from '../../repositories/tenancy.ts';
import type { Deps } from '../context.ts';

/** How many stored secrets `resealSecrets` moved to the current key, by kind. */
export interface ResealCounts {
  businesses: number;
  webhooks: number;
  signingKeys: number;
  /** Workspaces' evaluation callback secrets (POST /v1/webhooks/callback-secret). */
  callbackSecrets: number;
  /** Workspaces' single sign-on client secrets (PUT /v1/sso, issue 22). */
  ssoSecrets: number;
}

interface Reseal {
  id: string;
  from: string;
  to: string;
}

/**
 * `warden secrets reseal` (issue 10): every business signing secret, webhook secret, workspace
 * callback secret, single sign-on client secret and receipt signing private key that is stored plain, or sealed under a key other
 * than SECRETS_KEY, is sealed again under SECRETS_KEY. Afterwards SECRETS_KEY_PREVIOUS is no longer
 * needed.
 *
 * Everything is opened before anything is written, so a value that no configured key opens stops
 * the run with that key's id and changes nothing. Each row is replaced only if it still holds the
 * value that was read (a conditional update): a secret changed meanwhile is left alone, and running
 * it again, or on two replicas at once, is harmless.
 */
export async function resealSecrets(deps: Pick<Deps, 'db' | 'sealer'>): Promise<ResealCounts> {
  const { db, sealer } = deps;
  if (!sealer.encrypting) {
    throw new Error('SECRETS_KEY is not set: there is no key to seal the secrets under.');
  }
  const plan = <R>(rows: R[], id: (row: R) => string, stored: (row: R) => string): Reseal[] =>
    rows
      .filter((row) => sealer.stale(stored(row)))
      .map((row) => ({ id: id(row), from: stored(row), to: sealer.seal(sealer.open(stored(row))) }));

  const businesses = plan(
    await listBusinessSecrets(db.reader),
    (b) => b.id,
    (b) => b.signingSecret,
  );
  // A secret a business rotated out (issue 12) still signs until its overlap ends.
  const previousBusinesses = plan(
    await listPreviousBusinessSecrets(db.reader),
    (b) => b.id,
    (b) => b.previousSigningSecret,
  );
  const webhooks = plan(
    await listWebhookSecrets(db.reader),
    (w) => w.id,
    (w) => w.secret,
  );
  const signingKeys = plan(
    await listSigningKeys(db.reader),
    (k) => k.kid,
    (k) => k.privateKey,
  );
  const callbackSecrets = plan(
    await listCallbackSecrets(db.reader),
    (w) => w.workspaceId,
    (w) => w.callbackSecret,
  );

  const ssoSecrets = plan(
    await listSsoSecrets(db.reader),
    (w) => w.workspaceId,
    (w) => w.clientSecret,
  );

  const apply = (
    items: Reseal[],
    update: (tx: Conn, id: string, from: string, to: string) => Promise<boolean>,
  ): Promise<number> =>
    items.length === 0
      ? Promise.resolve(0)
      : db.transaction({}, async (tx) => {
          let replaced = 0;
          for (const item of items) if (await update(tx, item.id, item.from, item.to)) replaced += 1;
          return replaced;
        });

  return {
    businesses:
      (await apply(businesses, resealBusinessSecret)) +
      (await apply(previousBusinesses, resealPreviousBusinessSecret)),
    webhooks: await apply(webhooks, resealWebhookSecret),
    signingKeys: await apply(signingKeys, resealSigningKey),
    callbackSecrets: await apply(callbackSecrets, resealCallbackSecret),
    ssoSecrets: await apply(ssoSecrets, resealSsoSecret),
  };
}
