import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { createScheduler } from '../../src/core/scheduler.js';

describe('scheduler', () => {
  it('runs keys in time order with one timer for all of them', async () => {
    const clock = new ManualClock(0);
    const ran: [string, number][] = [];
    const s = createScheduler({ clock, concurrency: 10, run: async (k) => void ran.push([k, clock.now()]) });
    for (let i = 0; i < 1000; i++) s.schedule(`job${i}`, 1000 + ((i * 7919) % 5000));
    expect(clock.pending).toBe(1);
    await clock.advance(10_000);
    expect(ran).toHaveLength(1000);
    const times = ran.map(([, t]) => t);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(clock.pending).toBe(0);
  });

  it('replaces an earlier entry for the same key and honours cancel', async () => {
    const clock = new ManualClock(0);
    const ran: string[] = [];
    const s = createScheduler({ clock, concurrency: 1, run: async (k) => void ran.push(`${k}@${clock.now()}`) });
    s.schedule('a', 5000);
    s.schedule('a', 1000);
    s.schedule('b', 2000);
    s.cancel('b');
    expect(s.dueAt('a')).toBe(1000);
    await clock.advance(10_000);
    expect(ran).toEqual(['a@1000']);
  });

  it('bounds concurrency and keeps going after a failing run', async () => {
    const clock = new ManualClock(0);
    let active = 0;
    let peak = 0;
    const errors: string[] = [];
    const done: string[] = [];
    const s = createScheduler({
      clock,
      concurrency: 3,
      onError: (k) => errors.push(k),
      run: async (k) => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setImmediate(r));
        active--;
        if (k === 'k2') throw new Error('boom');
        done.push(k);
      },
    });
    for (let i = 0; i < 10; i++) s.schedule(`k${i}`, 100);
    await clock.advance(200);
    await s.idle();
    expect(peak).toBe(3);
    expect(errors).toEqual(['k2']);
    expect(done).toHaveLength(9);
  });

  it('stops firing after stop()', async () => {
    const clock = new ManualClock(0);
    const ran: string[] = [];
    const s = createScheduler({ clock, concurrency: 1, run: async (k) => void ran.push(k) });
    s.schedule('x', 100);
    s.stop();
    await clock.advance(1000);
    expect(ran).toEqual([]);
  });

  it('moves a rescheduled key in place: one entry per key, each run once at its latest time', async () => {
    const clock = new ManualClock(0);
    const ran: [string, number][] = [];
    const s = createScheduler({ clock, concurrency: 100, run: async (k) => void ran.push([k, clock.now()]) });
    let x = 12345;
    const rand = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const want = new Map<string, number>();
    for (let i = 0; i < 5000; i++) {
      const key = `k${Math.floor(rand() * 300)}`;
      if (rand() < 0.1) {
        s.cancel(key);
        want.delete(key);
      } else {
        const at = 1000 + Math.floor(rand() * 100_000);
        s.schedule(key, at);
        want.set(key, at);
      }
      expect(s.size).toBe(want.size);
    }
    for (const [k, at] of want) expect(s.dueAt(k)).toBe(at);
    await clock.advance(200_000);
    expect(new Map(ran)).toEqual(want);
    expect(ran).toHaveLength(want.size);
    expect(ran.map(([, t]) => t)).toEqual([...ran.map(([, t]) => t)].sort((a, b) => a - b));
  });
});
