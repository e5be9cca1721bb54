/** The counting semaphore that bounds image downloads, inline submits and deliveries. */
import { describe, expect, it } from 'vitest';
import { createLimiter } from '../../src/core/submit-step.js';

describe('createLimiter', () => {
  it('runs at most `max` at once, in arrival order, and passes results and errors through', async () => {
    const run = createLimiter(2);
    let active = 0;
    let peak = 0;
    const started: number[] = [];
    const gates: (() => void)[] = [];
    const results = Array.from({ length: 6 }, (_, i) =>
      run(async () => {
        started.push(i);
        active++;
        peak = Math.max(peak, active);
        await new Promise<void>((r) => gates.push(r));
        active--;
        if (i === 3) throw new Error('task 3 failed');
        return i * 10;
      }),
    );
    const all = Promise.allSettled(results);
    for (let opened = 0; opened < 6; opened++) {
      await new Promise((r) => setImmediate(r));
      expect(active).toBeLessThanOrEqual(2);
      gates.shift()?.();
    }
    const settled = await all;
    expect(peak).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
    expect(settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message))).toEqual([0, 10, 20, 'task 3 failed', 40, 50]);
  });
});
