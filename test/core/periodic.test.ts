import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { createPeriodic } from '../../src/core/periodic.js';

function counted(o: { atFirstCall: boolean; fail?: boolean }) {
  const clock = new ManualClock();
  const errors: unknown[] = [];
  let runs = 0;
  let release: () => void = () => {};
  const p = createPeriodic({
    clock,
    everyMs: 3_600_000,
    atFirstCall: o.atFirstCall,
    task: () => {
      runs++;
      return new Promise<void>((ok, fail) => (release = () => (o.fail ? fail(new Error('disk full')) : ok())));
    },
    onError: (err) => errors.push(err),
  });
  return { clock, p, errors, runs: () => runs, release: () => release() };
}

describe('periodic tasks', () => {
  it('runs at the first call when asked to, then once per period, never two at once', async () => {
    const t = counted({ atFirstCall: true });
    t.p.due();
    t.p.due();
    expect(t.runs()).toBe(1);
    const under = t.p.underWay();
    expect(under).toBeDefined();
    await t.clock.advance(3_600_000);
    t.p.due(); // still running: no second run
    expect(t.runs()).toBe(1);
    t.release();
    await under;
    expect(t.p.underWay()).toBeUndefined();
    t.p.due(); // the period since the last start has passed
    expect(t.runs()).toBe(2);
    t.release();
    await t.p.underWay();
    await t.clock.advance(3_599_999);
    t.p.due();
    expect(t.runs()).toBe(2);
  });

  it('otherwise waits a period from its creation; a failure is reported, not thrown, and tried a period later', async () => {
    const t = counted({ atFirstCall: false, fail: true });
    t.p.due();
    expect(t.runs()).toBe(0);
    await t.clock.advance(3_600_000);
    t.p.due();
    expect(t.runs()).toBe(1);
    t.release();
    await t.p.underWay();
    expect(t.errors.map((e) => (e as Error).message)).toEqual(['disk full']);
    t.p.due();
    expect(t.runs()).toBe(1);
  });
});
