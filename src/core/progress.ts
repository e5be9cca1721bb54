/**
 * Turns a job's state into what a progress message shows, coarse enough that
 * "nothing visible changed" is a plain comparison, and paces the edits.
 */
import type { ProgressView } from './ports.js';
import type { RenderEstimate } from './eta.js';
import { remainingMs } from './eta.js';

export function progressView(input: {
  jobId: string;
  phase: ProgressView['phase'];
  providerStatus?: string;
  queuePosition?: number;
  /** Since the user asked. */
  elapsedMs: number;
  /** Since the provider accepted the job (undefined before submit). */
  renderElapsedMs?: number;
  estimate?: RenderEstimate;
  anomaly?: string;
}): ProgressView {
  const view: ProgressView = {
    jobId: input.jobId,
    phase: input.phase,
    elapsedSeconds: Math.floor(input.elapsedMs / 1000),
  };
  if (input.providerStatus) view.providerStatus = input.providerStatus;
  if (input.queuePosition !== undefined) {
    view.queuePosition = roughPosition(input.queuePosition);
    if (view.queuePosition !== input.queuePosition) view.queueApprox = true;
  }
  if (input.anomaly) view.anomaly = input.anomaly;
  if (input.phase === 'rendering' && input.estimate && input.renderElapsedMs !== undefined) {
    const left = remainingMs(input.estimate, input.renderElapsedMs);
    const pct = (100 * input.renderElapsedMs) / Math.max(1, input.renderElapsedMs + left);
    view.percent = Math.min(99, Math.floor(pct / 5) * 5);
    const step = left > 60_000 ? 10 : 5;
    view.remainingSeconds = Math.ceil(left / 1000 / step) * step;
  } else if (input.phase === 'downloading' || input.phase === 'delivering') {
    view.percent = 99;
    view.remainingSeconds = 0;
  }
  return view;
}

/**
 * A queue position as shown: exact near the front, rounded further back, so a long queue
 * moving up by one doesn't mean an edit for every job in it.
 */
export function roughPosition(n: number): number {
  if (n <= 20) return n;
  const step = n <= 100 ? 5 : n <= 1000 ? 50 : 500;
  return Math.round(n / step) * step;
}

/** What must differ for an edit to be worth sending: elapsed time alone is not enough. */
export function viewKey(v: ProgressView): string {
  return [v.phase, v.providerStatus ?? '', v.queuePosition ?? '', v.percent ?? '', v.remainingSeconds ?? '', v.anomaly ?? '', v.waiting ?? '', v.retryInSeconds ?? '', v.compressing ? 'c' : ''].join('|');
}

/** A token bucket that caps progress edits per surface across all jobs. */
export function createEditBudget(perSecond: number, burst: number, now: () => number) {
  let tokens = burst;
  let at = now();
  return {
    /** Takes a token if one is free; otherwise returns ms until one will be. */
    take(): number {
      if (!Number.isFinite(perSecond)) return 0;
      const t = now();
      tokens = Math.min(burst, tokens + ((t - at) / 1000) * perSecond);
      at = t;
      if (tokens >= 1) {
        tokens -= 1;
        return 0;
      }
      return Math.ceil(((1 - tokens) / perSecond) * 1000);
    },
  };
}
