/**
 * Progress messages. `show` never waits on the platform: it sends the current
 * view if it changed and the job's and surface's pace allow, and otherwise asks
 * to be woken when they will. While an edit is on its way a newer view replaces
 * any older pending one (latest wins), so a slow or hung edit delays only the
 * message, never a job's polling or delivery.
 */
import type { Clock } from './clock.js';
import type { JobRecord } from './job.js';
import { isFinal } from './job.js';
import type { Live } from './live-job.js';
import type { Logger } from './logger.js';
import type { ChatSurface, JobSummary, ProgressView } from './ports.js';
import { SurfaceGoneError } from './ports.js';
import { progressView, viewKey } from './progress.js';

function phaseOf(job: JobRecord): ProgressView['phase'] {
  switch (job.status) {
    case 'queued':
      return 'queued';
    case 'submitting':
      return 'submitting';
    case 'running':
      return 'rendering';
    case 'completed':
      return 'downloading';
    default:
      return 'delivering';
  }
}

export function createProgressReporter(d: {
  clock: Clock;
  logger: Logger;
  surfaceOf(job: JobRecord): ChatSurface | undefined;
  budgets: Map<string, { take(): number }>;
  summary(job: JobRecord): JobSummary;
  queuePosition(id: string): number | undefined;
  renderElapsed(job: JobRecord): number;
  /** The progress message was deleted: forget it (through the job machine). */
  gone(l: Live, ref: string): void;
  /** Asks for `show` to be called again at `at`. */
  wake(l: Live, at: number): void;
}) {
  function view(l: Live): ProgressView {
    const job = l.job;
    const v = progressView({
      jobId: job.id,
      phase: phaseOf(job),
      providerStatus: job.providerStatus,
      queuePosition: job.status === 'queued' ? d.queuePosition(job.id) : undefined,
      elapsedMs: d.clock.now() - job.createdAt,
      renderElapsedMs: job.submittedAt ? d.renderElapsed(job) : undefined,
      estimate: l.estimate,
      anomaly: l.anomaly,
    });
    if (l.compressing) v.compressing = true;
    if (job.waiting && job.retryAt !== undefined) {
      v.waiting = job.waiting;
      const s = Math.max(0, (job.retryAt - d.clock.now()) / 1000);
      v.retryInSeconds = s > 60 ? Math.ceil(s / 60) * 60 : Math.ceil(s / 10) * 10;
    }
    return v;
  }

  function show(l: Live, urgent = false): void {
    const job = l.job;
    const p = l.progress;
    const surface = d.surfaceOf(job);
    if (p.closed || !surface || !job.progressMessage || isFinal(job.status)) return;
    if (p.sending) {
      p.dirty = true;
      return;
    }
    const v = view(l);
    const key = viewKey(v);
    const now = d.clock.now();
    if (key === p.lastKey) {
      if (job.status === 'running') d.wake(l, now + surface.progressIntervalMs);
      return;
    }
    const earliest = p.lastSentAt + (urgent ? Math.min(1000, surface.progressIntervalMs) : surface.progressIntervalMs);
    if (now < earliest) {
      d.wake(l, earliest);
      return;
    }
    const wait = d.budgets.get(surface.kind)?.take() ?? 0;
    if (wait > 0) {
      d.wake(l, now + wait);
      return;
    }
    p.lastKey = key;
    p.lastSentAt = now;
    const ref = job.progressMessage;
    p.sending = surface
      .edit(ref, { kind: 'progress', job: d.summary(job), progress: v })
      .catch((err: unknown) => {
        if (err instanceof SurfaceGoneError) {
          d.logger.info({ jobId: job.id }, 'progress message is gone; continuing without it');
          d.gone(l, ref);
        } else d.logger.warn({ jobId: job.id, err }, 'progress edit failed');
      })
      .finally(() => {
        p.sending = undefined;
        if (p.dirty) {
          p.dirty = false;
          show(l, urgent);
        } else if (l.job.status === 'running') d.wake(l, d.clock.now() + surface.progressIntervalMs);
      });
  }

  return {
    show,
    /** No more progress edits for this job; resolves once any edit on its way has finished. */
    async close(l: Live): Promise<void> {
      l.progress.closed = true;
      await l.progress.sending;
    },
  };
}
