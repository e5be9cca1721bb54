/**
 * Finished job records expire after JOB_RETENTION_DAYS: at start and then every
 * hour, finished jobs last written before the cut-off are deleted from the store,
 * a batch at a time, so a large purge never holds the store (or the event loop)
 * for long. Unfinished jobs are never touched. What reads an old job afterwards
 * (Re-roll, Extend, the buttons) finds none and says so.
 */
import type { Clock } from './clock.js';
import type { JobStore } from './job-store.js';
import type { Logger } from './logger.js';
import { createPeriodic } from './periodic.js';

/** How often expired jobs are looked for while running. */
export const JOB_PURGE_EVERY_MS = 3_600_000;
/** Records deleted per statement. */
export const JOB_PURGE_BATCH = 500;
export const DEFAULT_JOB_RETENTION_MS = 30 * 86_400_000;

/** What the purge needs: the store, the (injected) clock and the retention. */
export interface JobRetentionDeps {
  store: JobStore;
  clock: Clock;
  logger: Logger;
  /** How long a finished job is kept after its last write. */
  retentionMs: number;
  /** True once the service is stopping: a purge under way stops after its batch. */
  stopped(): boolean;
}

export function createJobRetention(d: JobRetentionDeps) {

  /** Deletes every expired finished job now, batch by batch; returns how many went. */
  async function purge(): Promise<number> {
    const before = d.clock.now() - d.retentionMs;
    let total = 0;
    for (;;) {
      const n = await d.store.purgeFinished({ before, limit: JOB_PURGE_BATCH });
      total += n;
      if (n < JOB_PURGE_BATCH || d.stopped()) break;
      // Let other statements and callbacks have their turn between batches.
      await new Promise((r) => setImmediate(r));
    }
    if (total) d.logger.info({ purged: total, retentionDays: Math.round(d.retentionMs / 86_400_000) }, 'finished jobs past their retention deleted');
    return total;
  }

  const hourly = createPeriodic({
    clock: d.clock,
    everyMs: JOB_PURGE_EVERY_MS,
    atFirstCall: true,
    task: purge,
    onError: (err) => d.logger.warn({ err }, 'could not delete expired jobs; trying again in an hour'),
  });
  return {
    purge,
    /** Starts a purge when none ran in the last hour (the first call always does); never throws. */
    due: hourly.due,
    /** The purge under way, if any (waited for when stopping). */
    underWay: hourly.underWay,
  };
}
