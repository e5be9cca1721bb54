/**
 * A progress edit put off (the surface's pace or its edit budget) is sent when
 * it is allowed, even if the job's next status poll comes first and changes
 * nothing: the scheduler keeps one wake-up per job, so the poll's replaced the
 * edit's, and the poll alone must not leave the message stale.
 */
import type { JobRecord } from '../../src/core/job.js';
import { describe, expect, it } from 'vitest';
import { harness } from './harness.js';

describe('progress edits and status polls share one wake-up per job', () => {
  it("a rendering job's first edit, put off by the edit budget, is not held until the provider's status changes", async () => {
    // Slack's budget (0.8 edits/s, a burst of 2) and the tests' fast polling: a poll comes before the budget allows the edit.
    const h = await harness({
      surface: { progressIntervalMs: 200, maxEditsPerSecond: 0.8 },
      config: { maxPerUser: 10, pollPolicy: { coverage: 0.2, minIntervalMs: 100, maxIntervalMs: 1000, firstPollMs: 200 } },
    });
    // Queued at the provider for the first 120 s (renderMs / 5): polls in that time change nothing.
    h.prov.renderMs = 600_000;
    await h.service.start();
    const jobs: JobRecord[] = [];
    for (let i = 0; i < 4; i++) jobs.push((await h.submit(`job ${i}`)).job);
    const firstRendering = (ref: string | undefined) => h.surf.edits().find((e) => e.ref === ref && e.message.kind === 'progress' && e.message.progress.phase === 'rendering');
    await h.until(() => jobs.every((j) => firstRendering(j.progressMessage)), 100, 200_000);
    // Four jobs at 0.8 edits/s with a burst of 2: the last one's waits a few seconds, not until 'generating' (120 s).
    for (const j of jobs) expect(firstRendering(j.progressMessage)!.at - j.createdAt).toBeLessThan(10_000);
  });

  it("keeps a rendering job's message moving (percent, time left) while polls report no change", async () => {
    const h = await harness({ surface: { progressIntervalMs: 5000 } });
    h.prov.renderMs = 600_000;
    await h.service.start();
    const { job } = await h.submit('a long render');
    for (let t = 0; t < 100_000; t += 500) await h.clock.advance(500);
    const shown = h.surf.edits().filter((e) => e.ref === job.progressMessage && e.message.kind === 'progress' && e.message.progress.phase === 'rendering');
    // Polls come faster than the 5 s ticks as the estimate (about 45 s) runs out, and the provider says 'queued'
    // throughout: the message still moves on (it used to freeze at the last edit before the polls overtook the ticks).
    expect(shown.length).toBeGreaterThan(8);
    expect(shown.at(-1)!.at - job.createdAt).toBeGreaterThan(60_000);
  });
});
