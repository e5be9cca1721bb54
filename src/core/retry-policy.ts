/**
 * The retry budgets of a job's life, in one place: how long to wait after the
 * n-th failure of a store write, a submit the provider certainly refused, a
 * status check, and a delivery attempt. Exponential with jitter, capped.
 */
export interface RetryPolicy {
  /** Wait after the first failure. */
  baseMs: number;
  /** Longest wait between two tries. */
  capMs: number;
}

/** The job store is the source of truth: keep trying, but not in a tight loop. */
export const STORE_RETRY: RetryPolicy = { baseMs: 250, capMs: 15_000 };
/** A submit refused before a job existed (429, no connection). */
export const SUBMIT_RETRY: RetryPolicy = { baseMs: 1000, capMs: 60_000 };
/** Submits tried at most this often before the job fails (only ever when nothing was created). */
export const MAX_SUBMIT_ATTEMPTS = 4;
/** A failed status check (5xx, reset, timeout). */
export const POLL_RETRY: RetryPolicy = { baseMs: 500, capMs: 30_000 };
/** A failed download or upload: keep trying for as long as the video can still be delivered. */
export const DELIVERY_RETRY: RetryPolicy = { baseMs: 1000, capMs: 60_000 };

/** Wait before try `attempt + 1`, after `attempt` failures (1-based), with ±25% jitter. */
export function backoffMs(p: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const exp = p.baseMs * 2 ** Math.min(Math.max(0, attempt - 1), 20);
  return Math.min(p.capMs, exp) * (0.75 + random() * 0.5);
}
