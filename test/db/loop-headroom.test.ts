import { describe, expect, it } from 'vitest';
import { loopHeadroom } from '../../gateway/db/loop-headroom.ts';

const idle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // a callback that keeps the event loop busy
  }
}

describe('loopHeadroom', () => {
  it('says a loop that was busy for the whole window has no time to spare, and an idle one has', async () => {
    const hasHeadroom = loopHeadroom(50, 0.85);
    expect(hasHeadroom()).toBe(true);
    spin(80);
    expect(hasHeadroom()).toBe(false);
    // Asked again within the window: the same answer, without sampling again.
    expect(hasHeadroom()).toBe(false);
    await idle(80);
    expect(hasHeadroom()).toBe(true);
  });
});
