import { rotateSigningKey } from '../services/ledger/index.ts';
import type { CommandContext } from './context.ts';

/**
 * `warden keys rotate`: a new receipt signing key becomes current; the old one retires and stays
 * published at /.well-known/warden-keys, so what it signed still verifies. Running gateways switch
 * at their next request (the config version moves). `--forward` (issue 24) rotates the key that
 * signs forwarded requests: the old one stays in /.well-known/http-message-signatures-directory for
 * FORWARD_SIGNING_KEY_OVERLAP_SECONDS, then businesses refuse what it signed.
 */
export async function keysRotate(ctx: CommandContext, opts: { forward?: boolean } = {}): Promise<number> {
  const purpose = opts.forward ? 'forward' : 'receipt';
  const kid = await rotateSigningKey(ctx.db, ctx.sealer, Date.now(), purpose);
  ctx.out(JSON.stringify({ rotated: true, purpose, kid }));
  return 0;
}
