/**
 * A surface's edit budget shared by many jobs: jobs that find it spent wait in
 * one line, served in turn as tokens come back, instead of each being woken
 * again for every token (thousands of wake-ups at the one instant a token
 * frees, for one of them to get it). The real reporter, budget and clock; the
 * scheduler's one wake-up per job is modelled with the clock's timers.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import type { JobRecord } from '../../src/core/job.js';
import { createProgressReporter } from '../../src/core/job-progress.js';
import type { Live } from '../../src/core/live-job.js';
import { newLive } from '../../src/core/live-job.js';
import { silentLogger } from '../../src/core/logger.js';
import type { ChatSurface, JobSummary } from '../../src/core/ports.js';
import { createEditBudget } from '../../src/core/progress.js';

function world(o: { jobs: number; perSecond: number; burst: number; intervalMs: number }) {
  const clock = new ManualClock();
  const edits: { ref: string; at: number }[] = [];
  const surface = {
    kind: 'paced',
    progressIntervalMs: o.intervalMs,
    maxEditsPerSecond: o.perSecond,
    async edit(ref: string) {
      edits.push({ ref, at: clock.now() });
    },
  } as unknown as ChatSurface;
  let wakes = 0;
  const timers = new Map<string, { at: number; cancel: () => void }>();
  const reporter = createProgressReporter({
    clock,
    logger: silentLogger,
    surfaceOf: () => surface,
    budgets: new Map([['paced', createEditBudget(o.perSecond, o.burst, () => clock.now())]]),
    summary: () => ({}) as JobSummary,
    queuePosition: () => undefined,
    renderElapsed: (job) => clock.now() - (job.submittedAt ?? job.createdAt),
    gone: () => {},
    // As the scheduler does: one wake-up per job, the earliest asked for.
    wake: (l: Live, at: number) => {
      wakes++;
      const id = l.job.id;
      const had = timers.get(id);
      if (had && had.at <= at) return;
      had?.cancel();
      timers.set(id, {
        at,
        cancel: clock.setTimer(() => {
          timers.delete(id);
          reporter.show(l);
        }, at - clock.now()),
      });
    },
  });
  const lives = Array.from({ length: o.jobs }, (_, n) =>
    newLive({
      id: `job-${n}`,
      // Downloading: a view that doesn't change, and no paced looks of its own (only rendering jobs have those).
      status: 'completed',
      surface: 'paced',
      conversation: 'c',
      progressMessage: `msg-${n}`,
      createdAt: clock.now(),
      submittedAt: clock.now(),
      updatedAt: clock.now(),
      providerStatus: 'generating',
    } as unknown as JobRecord),
  );
  return { clock, edits, reporter, lives, wakes: () => wakes };
}

describe('progress edits under a surface-wide budget', () => {
  it('300 jobs owed an edit at 2 edits/s: each gets one (none for one that ended meanwhile), in the order they asked, within the budget, without waking each other', async () => {
    const w = world({ jobs: 300, perSecond: 2, burst: 4, intervalMs: 1000 });
    for (const l of w.lives) w.reporter.show(l);
    // A job that ends while in line leaves it.
    const ended = w.lives[150]!;
    await w.reporter.close(ended);
    for (let t = 0; t < 160_000; t += 100) await w.clock.advance(100);

    // Each job's view never changes after its first edit, so each is owed exactly one.
    expect(w.edits).toHaveLength(299);
    expect(w.edits.map((e) => e.ref)).toEqual(w.lives.filter((l) => l !== ended).map((l) => l.job.progressMessage));
    // The line is empty and nothing waits on the clock.
    expect(w.clock.pending).toBe(0);
    const perSecond = new Map<number, number>();
    for (const e of w.edits) perSecond.set(Math.floor(e.at / 1000), (perSecond.get(Math.floor(e.at / 1000)) ?? 0) + 1);
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(4 + 2);
    // The last edit comes when the budget allows it: (300 - burst) / 2 per second.
    expect(w.edits.at(-1)!.at - w.edits[0]!.at).toBeLessThanOrEqual(150_000);
    // Waiting in line costs no wake-ups: not one per waiting job for every token that came back
    // (about 300 * 300 / 2 = 45,000 before).
    expect(w.wakes()).toBeLessThan(300);
  });
});
