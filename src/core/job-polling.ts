/**
 * What a status check means for a job, as an outcome: keep waiting (and how
 * long), back off on errors and rate limits (a 429 holds every check to that
 * provider), give up on unknown words or old age, or hand over a finished
 * video. Nothing here writes the record; the job service commits the event.
 */
import type { Clock } from './clock.js';
import { ProviderError, RateLimitError, userMessageFor } from './errors.js';
import type { JobRecord } from './job.js';
import type { JobEvent } from './lifecycle.js';
import type { Live } from './live-job.js';
import type { Logger } from './logger.js';
import type { ProviderCallContext, ProviderStatus, VideoProvider } from './ports.js';
import { POLL_RETRY, backoffMs } from './retry-policy.js';

/** `event` to commit (if any), then the next check no sooner than `waitMs` (if still running). */
export interface PollOutcome {
  event?: JobEvent;
  waitMs?: number;
}

export function createPoller(d: {
  clock: Clock;
  logger: Logger;
  config: { maxAgeMs: number; unknownStatusGraceMs: number };
  providers: Readonly<Record<string, VideoProvider>>;
  ctx(job: JobRecord): ProviderCallContext;
  renderElapsed(job: JobRecord): number;
  /** Provider → no status checks before this time (a 429 is account-wide). */
  pausedUntil: Map<string, number>;
}) {
  async function poll(l: Live): Promise<PollOutcome> {
    const job = l.job;
    if (d.renderElapsed(job) > d.config.maxAgeMs) {
      const minutes = Math.round(d.config.maxAgeMs / 60_000);
      return { event: { type: 'timed_out', text: `Gave up after ${minutes} minutes without a result from the provider (job ${job.operation?.id ?? job.id}). It may still finish and be charged.` } };
    }
    const provider = d.providers[job.provider];
    if (!provider || !job.operation) {
      return { event: { type: 'render_failed', code: 'provider_unavailable', text: `This bot can no longer reach ${job.provider} to check the job.` } };
    }
    let status: ProviderStatus;
    try {
      status = await provider.status(job.operation, d.ctx(job));
      l.pollErrors = 0;
    } catch (err) {
      return failed(l, err);
    }
    return outcome(l, status);
  }

  function failed(l: Live, err: unknown): PollOutcome {
    l.pollErrors++;
    if (err instanceof RateLimitError) {
      const until = d.clock.now() + Math.max(err.retryAfterMs ?? 0, backoffMs(POLL_RETRY, l.pollErrors));
      d.pausedUntil.set(l.job.provider, Math.max(d.pausedUntil.get(l.job.provider) ?? 0, until));
      d.logger.warn({ jobId: l.job.id, retryAfterMs: err.retryAfterMs }, 'provider rate-limited status checks');
      return { waitMs: until - d.clock.now() };
    }
    if (err instanceof ProviderError && !err.retryable) {
      if (err.status === 404) return { event: { type: 'render_failed', code: 'job_lost', text: `The provider no longer knows this job (${l.job.operation?.id}); it may have expired.` } };
      return { event: { type: 'render_failed', code: err.code, text: userMessageFor(err) } };
    }
    d.logger.warn({ jobId: l.job.id, err, attempt: l.pollErrors }, 'status check failed; backing off');
    return { waitMs: backoffMs(POLL_RETRY, l.pollErrors) };
  }

  /** What a status (from a check, or from the create response) means for the job. */
  function outcome(l: Live, status: ProviderStatus): PollOutcome {
    const job = l.job;
    if (status.state === 'pending') {
      if (status.anomaly) {
        l.unknownSince ??= d.clock.now();
        l.anomaly = status.anomaly;
        d.logger.warn({ jobId: job.id, providerStatus: status.providerStatus }, 'unknown provider status');
        if (d.clock.now() - l.unknownSince > d.config.unknownStatusGraceMs) {
          return { event: { type: 'render_failed', code: 'unknown_status', text: `The provider keeps reporting an unexpected status ("${status.providerStatus}"), so we stopped waiting (job ${job.operation?.id}).` } };
        }
      } else {
        l.unknownSince = undefined;
        l.anomaly = undefined;
      }
      const waitMs = l.anomaly ? backoffMs(POLL_RETRY, 4) : 0;
      return status.providerStatus !== job.providerStatus ? { event: { type: 'provider_status', providerStatus: status.providerStatus }, waitMs } : { waitMs };
    }
    if (status.state === 'failed') return { event: { type: 'render_failed', code: status.error.code, text: `The video couldn't be made: ${status.error.message}` } };
    return {
      event: {
        type: 'rendered',
        providerStatus: status.providerStatus,
        video: status.video,
        ...(status.creditsUsed !== undefined ? { creditsUsed: status.creditsUsed } : {}),
        ...(status.creditsRemaining !== undefined ? { creditsRemaining: status.creditsRemaining } : {}),
      },
    };
  }

  return { poll, outcome };
}
