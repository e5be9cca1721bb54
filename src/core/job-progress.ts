/**
 * Progress reporting for the job service: builds the view, skips edits that
 * would show nothing new, paces them per job and per surface, and copes with a
 * progress message that has been deleted.
 */
import type { Clock } from './clock.js';
import type { JobRecord } from './job.js';
import { isFinal } from './job.js';
import type { Live } from './live-job.js';
import type { Logger } from './logger.js';
import type { ChatSurface, JobSummary } from './ports.js';
import { SurfaceGoneError } from './ports.js';
import { progressView, viewKey } from './progress.js';

export function createProgressReporter(d: {
  clock: Clock;
  logger: Logger;
  surfaceOf(job: JobRecord): ChatSurface | undefined;
  budgets: Map<string, { take(): number }>;
  summary(job: JobRecord): JobSummary;
  save(l: Live, patch: Partial<JobRecord>): Promise<void>;
  /** Schedules the job's next wake-up for a progress refresh. */
  wake(l: Live, progressAt: number): void;
  queuePosition(id: string): number | undefined;
  renderElapsed(job: JobRecord): number;
}) {
  const { clock, budgets, summary, save, wake, queuePosition, renderElapsed, surfaceOf } = d;
  const log = d.logger;

function phaseOf(job: JobRecord) {
  switch (job.status) {
    case 'queued':
      return 'queued' as const;
    case 'submitting':
      return 'submitting' as const;
    case 'running':
      return 'rendering' as const;
    case 'completed':
      return 'downloading' as const;
    default:
      return 'delivering' as const;
  }
}

/** Edits the progress message if what it shows changed and the surface's pace allows. */
async function progress(l: Live, urgent = false): Promise<void> {
  const job = l.job;
  const surface = surfaceOf(job);
  if (!surface || !job.progressMessage || isFinal(job.status)) return;
  const view = progressView({
    jobId: job.id,
    phase: phaseOf(job),
    providerStatus: job.providerStatus,
    queuePosition: job.status === 'queued' ? queuePosition(job.id) : undefined,
    elapsedMs: clock.now() - job.createdAt,
    renderElapsedMs: job.submittedAt ? renderElapsed(job) : undefined,
    estimate: l.estimate,
    anomaly: l.anomaly,
  });
  const key = viewKey(view);
  const now = clock.now();
  if (key === l.lastKey) {
    if (job.status === 'running') wake(l, now + surface.progressIntervalMs);
    return;
  }
  const minGap = urgent ? Math.min(1000, surface.progressIntervalMs) : surface.progressIntervalMs;
  const earliest = l.lastSentAt + minGap;
  if (now < earliest || l.editing) {
    wake(l, Math.max(earliest, now + 50));
    return;
  }
  const wait = budgets.get(surface.kind)?.take() ?? 0;
  if (wait > 0) {
    wake(l, now + wait);
    return;
  }
  l.lastKey = key;
  l.lastSentAt = now;
  const ref = job.progressMessage;
  l.editing = surface
    .edit(ref, { kind: 'progress', job: summary(job), progress: view })
    .catch(async (err: unknown) => {
      if (err instanceof SurfaceGoneError) {
        log.info({ jobId: job.id }, 'progress message is gone; continuing without it');
        if (l.job.progressMessage === ref) await save(l, { progressMessage: undefined });
      } else log.warn({ jobId: job.id, err }, 'progress edit failed');
    })
    .finally(() => {
      l.editing = undefined;
    });
  await l.editing;
  if (job.status === 'running') wake(l, clock.now() + surface.progressIntervalMs);
}

  return { progress };
}
