// The one worker pool (src/async/pool.ts) that verify, a store dataset's part uploads and
// the multipart uploads share: bounded, in order, and no new work after a failure.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const { inParallel } = require('../dist/async/pool.js') as typeof import('../src/async/pool.js');

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 2));

describe('inParallel', () => {
  it('runs every index once, in order, never more than `concurrency` at once', async () => {
    const started: number[] = [];
    let running = 0;
    let most = 0;
    await inParallel(20, 3, async (i) => {
      started.push(i);
      running++;
      most = Math.max(most, running);
      await tick();
      running--;
    });
    expect(started).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(most).toBe(3);
  });

  it('rejects with the first failure and starts nothing after it', async () => {
    const started: number[] = [];
    const run = inParallel(50, 2, async (i) => {
      started.push(i);
      await tick();
      if (i === 3) throw new Error('part 3 failed');
    });
    await expect(run).rejects.toThrow('part 3 failed');
    await new Promise((resolve) => setTimeout(resolve, 30));
    // Index 3 failed while at most one other task was in flight: one more may have started.
    expect(started.length).toBeLessThanOrEqual(6);
  });

  it('with nothing to do, resolves without calling run', async () => {
    let calls = 0;
    await inParallel(0, 4, async () => {
      calls++;
    });
    expect(calls).toBe(0);
  });
});
