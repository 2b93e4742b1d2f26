import { resealSecrets } from '../services/platform/index.ts';
import type { CommandContext } from './context.ts';

/**
 * `warden secrets reseal`: seals every stored secret (business signing secrets, webhook and
 * callback secrets, receipt signing keys, Slack, Teams and Git secrets) under the current SECRETS_KEY, so a previous key can be
 * dropped from SECRETS_KEY_PREVIOUS. Safe to run again, or on two hosts at once.
 */
export async function secretsReseal(ctx: CommandContext): Promise<number> {
  const counts = await resealSecrets({ db: ctx.db, sealer: ctx.sealer });
  ctx.out(JSON.stringify({ resealed: counts }));
  return 0;
}
