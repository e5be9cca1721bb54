/** The queue and in-flight caps, against a brute-force model. */
import { describe, expect, it } from 'vitest';
import type { JobRecord, JobStatus } from '../../src/core/job.js';
import { createJobQueue } from '../../src/core/job-queue.js';
import { roughPosition } from '../../src/core/progress.js';

type Item = { job: JobRecord };
const item = (i: number, user = `u${i}`): Item => ({ job: { id: `j${i}`, status: 'queued', surface: 's', requester: { id: user } } as JobRecord });

/** Deterministic pseudo-random numbers. */
function prng(seed: number) {
  let x = seed;
  return () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

describe('job queue', () => {
  it('keeps arrival order, both caps and exact positions through thousands of changes (and compactions)', () => {
    const limits = { maxInFlight: 40, maxPerUser: 2 };
    const q = createJobQueue<Item>(limits);
    const rand = prng(7);
    const items: Item[] = [];
    const set = (it: Item, status: JobStatus) => {
      it.job.status = status;
      if (status === 'delivered') q.forget(it);
      else q.track(it);
    };
    for (let round = 0; round < 400; round++) {
      // Arrivals (some users twice), then a pump, then some finish, some retry, some cancel.
      for (let k = 0; k < 12; k++) {
        const n = items.length;
        const it = item(n, `u${Math.floor(rand() * 300)}`);
        items.push(it);
        q.track(it);
      }
      const { items: taken } = q.take(round);
      for (const t of taken) set(t, 'submitting');
      {
        // Nobody eligible was passed over while a slot was free.
        const flying = items.filter((x) => x.job.status === 'submitting' || x.job.status === 'running');
        const perUser = new Map<string, number>();
        for (const f of flying) perUser.set(f.job.requester.id, (perUser.get(f.job.requester.id) ?? 0) + 1);
        if (flying.length < limits.maxInFlight) {
          for (const x of items.filter((y) => y.job.status === 'queued')) expect(perUser.get(x.job.requester.id) ?? 0).toBeGreaterThanOrEqual(limits.maxPerUser);
        }
      }
      for (const t of items.filter((x) => x.job.status === 'submitting')) if (rand() < 0.5) set(t, 'running');
      for (const t of items.filter((x) => x.job.status === 'running')) if (rand() < 0.3) set(t, 'delivered');
      for (const t of items.filter((x) => x.job.status === 'queued')) if (rand() < 0.02) set(t, 'delivered'); // cancelled while queued

      const queued = items.filter((x) => x.job.status === 'queued');
      const flying = items.filter((x) => x.job.status === 'submitting' || x.job.status === 'running');
      expect(q.waiting).toBe(queued.length);
      expect(q.inFlight).toBe(flying.length);
      expect(flying.length).toBeLessThanOrEqual(limits.maxInFlight);
      const perUser = new Map<string, number>();
      for (const f of flying) perUser.set(f.job.requester.id, (perUser.get(f.job.requester.id) ?? 0) + 1);
      expect(Math.max(0, ...perUser.values())).toBeLessThanOrEqual(limits.maxPerUser);
      // Positions are exact, in arrival order, and `queued()` walks them in that order.
      queued.forEach((x, i) => expect(q.position(x.job.id)).toBe(i + 1));
      expect([...q.queued()].map((x) => x.job.id)).toEqual(queued.map((x) => x.job.id));
    }
    expect(items.length).toBe(4800);
  });

  it('holds a job back until its retry time and says when to look again', () => {
    const q = createJobQueue<Item>({ maxInFlight: 5, maxPerUser: 5 });
    const a = item(1);
    a.job.retryAt = 5000;
    const b = item(2);
    q.track(a);
    q.track(b);
    const first = q.take(1000);
    expect(first.items.map((x) => x.job.id)).toEqual(['j2']);
    expect(first.wakeAt).toBe(5000);
    expect(q.take(5000).items.map((x) => x.job.id)).toEqual(['j1']);
  });

  it('rounds positions far back in a long queue, so moving up by one is not an edit for everyone', () => {
    expect([1, 7, 20].map(roughPosition)).toEqual([1, 7, 20]);
    expect([21, 23, 98].map(roughPosition)).toEqual([20, 25, 100]);
    expect([449, 1234, 9876].map(roughPosition)).toEqual([450, 1000, 10000]);
  });
});
