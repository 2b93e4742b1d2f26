import type { CommandContext } from './context.ts';

/** `warden migrate`: the migrations ran when the command opened the database; say so. */
export async function migrate(ctx: CommandContext): Promise<number> {
  ctx.out(`migrations applied to ${ctx.db.dialect} database`);
  return 0;
}
