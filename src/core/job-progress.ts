/**
 * Progress messages. `show` never waits on the platform: it sends the current
 * view if it changed and the job's and surface's pace allow, and otherwise asks
 * to be woken when they will. While an edit is on its way a newer view replaces
 * any older pending one (latest wins), so a slow or hung edit delays only the
 * message, never a job's polling or delivery.
 *
 * A surface's edit budget (edits per second across all jobs) is shared in turn:
 * a job that finds it spent joins that surface's line, and one timer per surface
 * serves the line, oldest first, as tokens come back, each with its view of
 * that moment. Jobs don't each wait for the next token: thousands of them woken
 * at the one instant a token frees, for one of them to get it, stalled the
 * event loop (a p99 of 55 ms at 10,000 jobs on Discord's 5 edits/s).
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

  /** Per surface kind: jobs owed an edit the budget couldn't pay yet, in the order they asked, and the timer serving them. */
  const lines = new Map<string, { owed: Set<Live>; cancel?: () => void }>();

  function lineOf(kind: string) {
    let line = lines.get(kind);
    if (!line) lines.set(kind, (line = { owed: new Set() }));
    return line;
  }

  /**
   * The view `l`'s message should get now, or undefined when it needs none: the job has no message
   * (or has ended), an edit is on its way (the view is shown again when it is done), or the view
   * hasn't changed (a rendering job is looked at again a progress interval on).
   */
  function changedView(l: Live): { surface: ChatSurface; v: ProgressView; key: string } | undefined {
    const job = l.job;
    const p = l.progress;
    const surface = d.surfaceOf(job);
    if (p.closed || !surface || !job.progressMessage || isFinal(job.status)) return undefined;
    if (p.sending) {
      p.dirty = true;
      return undefined;
    }
    const v = view(l);
    const key = viewKey(v);
    if (key === p.lastKey) {
      if (job.status === 'running') d.wake(l, d.clock.now() + surface.progressIntervalMs);
      return undefined;
    }
    return { surface, v, key };
  }

  /** Serves `kind`'s line while the budget has tokens; then waits for the next one. */
  function serve(kind: string) {
    const line = lineOf(kind);
    line.cancel = undefined;
    const budget = d.budgets.get(kind);
    for (const l of line.owed) {
      const next = changedView(l);
      if (!next) {
        line.owed.delete(l);
        continue;
      }
      const wait = budget?.take() ?? 0;
      if (wait > 0) {
        line.cancel = d.clock.setTimer(() => serve(kind), wait);
        return;
      }
      line.owed.delete(l);
      send(l, next.surface, next.v, next.key);
    }
  }

  function send(l: Live, surface: ChatSurface, v: ProgressView, key: string) {
    const job = l.job;
    const p = l.progress;
    p.lastKey = key;
    p.lastSentAt = d.clock.now();
    const ref = job.progressMessage!;
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
          show(l);
        } else if (l.job.status === 'running') d.wake(l, d.clock.now() + surface.progressIntervalMs);
      });
  }

  function show(l: Live, urgent = false): void {
    const next = changedView(l);
    if (!next) return;
    const { surface, v, key } = next;
    const p = l.progress;
    const now = d.clock.now();
    const earliest = p.lastSentAt + (urgent ? Math.min(1000, surface.progressIntervalMs) : surface.progressIntervalMs);
    if (now < earliest) {
      d.wake(l, earliest);
      return;
    }
    const budget = d.budgets.get(surface.kind);
    if (budget) {
      const line = lineOf(surface.kind);
      // In line already: its turn comes. Others in line go first.
      if (line.owed.has(l)) return;
      const wait = line.owed.size ? 0 : budget.take();
      if (line.owed.size || wait > 0) {
        line.owed.add(l);
        line.cancel ??= d.clock.setTimer(() => serve(surface.kind), wait);
        return;
      }
    }
    send(l, surface, v, key);
  }

  return {
    show,
    /** No more progress edits for this job; resolves once any edit on its way has finished. */
    async close(l: Live): Promise<void> {
      l.progress.closed = true;
      for (const line of lines.values()) line.owed.delete(l);
      await l.progress.sending;
    },
    /** Stops serving the lines (the service is stopping). */
    stop(): void {
      for (const line of lines.values()) {
        line.cancel?.();
        line.cancel = undefined;
        line.owed.clear();
      }
    },
  };
}
