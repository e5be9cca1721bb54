/** The counting semaphore that bounds image downloads, inline submits and deliveries. */
import { describe, expect, it } from 'vitest';
import { createLimiter } from '../../src/core/submit-step.js';

describe('createLimiter', () => {
  it('aside gives the slot back while it waits, then takes one again before going on', async () => {
    const run = createLimiter(1);
    const order: string[] = [];
    let release!: () => void;
    const outside = new Promise<void>((r) => (release = r));
    const first = run(async () => {
      order.push('a: in');
      await run.aside(() => outside);
      order.push('a: back');
    });
    // With the only slot lent out, b runs while a waits.
    await run(async () => void order.push('b'));
    expect(order).toEqual(['a: in', 'b']);
    // When a comes back it needs a slot again: c holds it, so a waits for c.
    let endC!: () => void;
    const c = run(() => new Promise<void>((r) => (endC = r)).then(() => void order.push('c')));
    await Promise.resolve();
    release();
    await new Promise((r) => setTimeout(r, 10));
    expect(order).toEqual(['a: in', 'b']);
    endC();
    await Promise.all([first, c]);
    expect(order).toEqual(['a: in', 'b', 'c', 'a: back']);
  });

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
