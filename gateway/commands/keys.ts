import { rotateSigningKey } from '../services/ledger/index.ts';
import type { CommandContext } from './context.ts';

/**
 * `warden keys rotate`: a new receipt signing key becomes current; the old one retires and stays
 * published at /.well-known/warden-keys, so what it signed still verifies. Running gateways switch
 * at their next request (the config version moves).
 */
export async function keysRotate(ctx: CommandContext): Promise<number> {
  const kid = await rotateSigningKey(ctx.db, ctx.sealer, Date.now());
  ctx.out(JSON.stringify({ rotated: true, kid }));
  return 0;
}
