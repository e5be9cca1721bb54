/**
 * What a status check means for a job: keep waiting (and when to look again),
 * back off on errors and rate limits, give up on unknown words or old age,
 * or hand a finished video to delivery (after learning its render time).
 */
import type { Clock } from './clock.js';
import { ProviderError, RateLimitError, userMessageFor } from './errors.js';
import { observe, statsKey } from './eta.js';
import type { JobRecord } from './job.js';
import type { JobStore } from './job-store.js';
import type { Live } from './live-job.js';
import type { Logger } from './logger.js';
import type { ProviderCallContext, ProviderStatus, VideoProvider } from './ports.js';

export function createPoller(d: {
  clock: Clock;
  logger: Logger;
  config: { maxAgeMs: number; unknownStatusGraceMs: number };
  providers: Readonly<Record<string, VideoProvider>>;
  store: Pick<JobStore, 'getStats' | 'putStats'>;
  ctx(job: JobRecord): ProviderCallContext;
  renderElapsed(job: JobRecord): number;
  /** Schedules the next status check, no sooner than `minDelay`. */
  planPoll(l: Live, minDelay?: number): void;
  backoff(attempt: number): number;
  /** Holds every status check to this provider until `until` (a 429 is account-wide). */
  pauseProvider(provider: string, until: number): void;
  save(l: Live, patch: Partial<JobRecord>): Promise<void>;
  fail(l: Live, code: string, text: string): Promise<void>;
  timeOut(l: Live, text: string): Promise<void>;
  progress(l: Live): Promise<void>;
  deliver(l: Live): Promise<void>;
}) {
async function poll(l: Live): Promise<void> {
  const job = l.job;
  l.nextPollAt = undefined;
  if (d.renderElapsed(job) > d.config.maxAgeMs) {
    const minutes = Math.round(d.config.maxAgeMs / 60_000);
    await d.timeOut(l, `Gave up after ${minutes} minutes without a result from the provider (job ${job.operation?.id ?? job.id}). It may still finish and be charged.`);
    return;
  }
  const provider = d.providers[job.provider];
  if (!provider || !job.operation) {
    await d.fail(l, 'provider_unavailable', `This bot can no longer reach ${job.provider} to check the job.`);
    return;
  }
  let status: ProviderStatus;
  try {
    status = await provider.status(job.operation, d.ctx(job));
    l.pollErrors = 0;
  } catch (err) {
    await pollFailed(l, err);
    return;
  }
  await handleStatus(l, status);
}

async function pollFailed(l: Live, err: unknown) {
  l.pollErrors++;
  if (err instanceof RateLimitError) {
    const until = d.clock.now() + Math.max(err.retryAfterMs ?? 0, d.backoff(l.pollErrors));
    d.pauseProvider(l.job.provider, until);
    d.logger.warn({ jobId: l.job.id, retryAfterMs: err.retryAfterMs }, 'provider rate-limited status checks');
    d.planPoll(l, until - d.clock.now());
    return;
  }
  if (err instanceof ProviderError && !err.retryable) {
    if (err.status === 404) {
      await d.fail(l, 'job_lost', `The provider no longer knows this job (${l.job.operation?.id}); it may have expired.`);
    } else {
      await d.fail(l, err.code, userMessageFor(err));
    }
    return;
  }
  d.logger.warn({ jobId: l.job.id, err, attempt: l.pollErrors }, 'status check failed; backing off');
  d.planPoll(l, d.backoff(l.pollErrors));
}

async function handleStatus(l: Live, status: ProviderStatus): Promise<void> {
  const job = l.job;
  if (status.state === 'pending') {
    if (status.anomaly) {
      l.unknownSince ??= d.clock.now();
      l.anomaly = status.anomaly;
      d.logger.warn({ jobId: job.id, providerStatus: status.providerStatus }, 'unknown provider status');
      if (d.clock.now() - l.unknownSince > d.config.unknownStatusGraceMs) {
        await d.fail(l, 'unknown_status', `The provider keeps reporting an unexpected status ("${status.providerStatus}"), so we stopped waiting (job ${job.operation?.id}).`);
        return;
      }
    } else {
      l.unknownSince = undefined;
      l.anomaly = undefined;
    }
    if (status.providerStatus !== job.providerStatus) await d.save(l, { providerStatus: status.providerStatus });
    d.planPoll(l, l.anomaly ? d.backoff(3) : 0);
    await d.progress(l);
    return;
  }
  if (status.state === 'failed') {
    await d.fail(l, status.error.code, `The video couldn't be made: ${status.error.message}`);
    return;
  }
  const seconds = d.renderElapsed(job) / 1000;
  await d.save(l, {
    status: 'completed',
    providerStatus: status.providerStatus,
    completedAt: d.clock.now(),
    result: { video: status.video, creditsUsed: status.creditsUsed, creditsRemaining: status.creditsRemaining },
  });
  await learn(job, seconds);
  d.logger.info({ jobId: job.id, seconds: Math.round(seconds) }, 'video ready');
  await d.deliver(l);
}

async function learn(job: JobRecord, seconds: number) {
  const key = statsKey(job.request.modelId, job.request.resolution, job.request.duration);
  try {
    await d.store.putStats(key, observe(await d.store.getStats(key), seconds));
  } catch (err) {
    d.logger.warn({ err }, 'could not record render time');
  }
}

  return { poll, handleStatus };
}
