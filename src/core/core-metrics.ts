/**
 * The metrics port: what the core counts for an operator (jobs started and
 * finished, provider requests, render and delivery times, credits, uploads).
 * The outside implements it (src/metrics.ts, over prom-client); the default is
 * a no-op, so the core runs the same without it. Every label the core passes
 * is from a bounded set: surface kinds, catalogue model ids, provider names,
 * final statuses and {@link requestStatus}; never a user, a channel or a prompt.
 */
import { DownloadError, ProviderError } from './errors.js';
import type { JobRecord, JobStatus } from './job.js';
import type { DeliveredAs, VideoProvider } from './ports.js';

/** A request the core makes to a provider: a create, a status check, or the video's download. */
export type ProviderOp = 'create' | 'status' | 'download';

/** How a job ended (its final status). */
export type JobOutcome = Extract<JobStatus, 'delivered' | 'failed' | 'timed_out' | 'cancelled' | 'submit_unknown'>;

/** What the core records as it goes. Calls must be cheap and never throw. */
export interface CoreMetrics {
  /** A job was admitted (accepted and queued). `model` is the catalogue model id. */
  jobStarted(surface: string, model: string): void;
  /** A job this instance worked on reached a final status. */
  jobFinished(surface: string, model: string, outcome: JobOutcome): void;
  /** One request to a provider, with {@link requestStatus} of how it went. */
  providerRequest(provider: string, op: ProviderOp, status: string): void;
  /** How long the provider rendered: submitted to completed. */
  renderSeconds(seconds: number): void;
  /** How long delivery took: completed to posted (downloads, re-encodes and retries included). */
  deliverySeconds(seconds: number): void;
  /** Credits the provider reported for a finished video. */
  credits(provider: string, used: number): void;
  /** A video was posted, as the file, a compressed copy or a link. */
  upload(surface: string, as: DeliveredAs): void;
}

/** Records nothing. */
export const NO_METRICS: CoreMetrics = {
  jobStarted: () => undefined,
  jobFinished: () => undefined,
  providerRequest: () => undefined,
  renderSeconds: () => undefined,
  deliverySeconds: () => undefined,
  credits: () => undefined,
  upload: () => undefined,
};

/** This instance's jobs right now, for gauges read at scrape time. */
export interface JobCounts {
  /** Jobs this instance works on, by active status (every active status present, 0 when none). */
  active: Record<ActiveStatus, number>;
  /** Jobs waiting in the queue for a slot. */
  queueLength: number;
}

export type ActiveStatus = Extract<JobStatus, 'queued' | 'submitting' | 'running' | 'completed' | 'delivering'>;

/** HTTP statuses named as themselves; any other is counted by its class (`4xx`), so the label set stays small. */
const NAMED_STATUSES = new Set([400, 401, 402, 403, 404, 406, 408, 409, 410, 413, 422, 429, 500, 502, 503, 504]);

/**
 * The `status` label of a provider request: `2xx` when it succeeded; the HTTP status of a failure
 * (one of a fixed list, else its class such as `4xx`); `bad_response` for a 2xx answer that
 * couldn't be read; `timeout` or `network` when there was no answer; `error` for anything else.
 */
export function requestStatus(err?: unknown): string {
  if (err === undefined) return '2xx';
  const status = err instanceof ProviderError || err instanceof DownloadError ? err.status : undefined;
  if (status === undefined) return 'error';
  if (status === 0) return /timeout/i.test((err as Error).message) ? 'timeout' : 'network';
  if (status >= 200 && status < 300) return 'bad_response';
  if (NAMED_STATUSES.has(status)) return String(status);
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'error';
}

/** The providers, each create and status request counted once (the plugins know nothing of it). */
export function meteredProviders(providers: Readonly<Record<string, VideoProvider>>, metrics: CoreMetrics): Readonly<Record<string, VideoProvider>> {
  if (metrics === NO_METRICS) return providers;
  const metered = (name: string, p: VideoProvider): VideoProvider => ({
    name: p.name,
    async start(request, ctx) {
      return counted(name, 'create', () => p.start(request, ctx));
    },
    async status(operation, ctx) {
      return counted(name, 'status', () => p.status(operation, ctx));
    },
  });
  async function counted<T>(provider: string, op: ProviderOp, call: () => Promise<T>): Promise<T> {
    try {
      const out = await call();
      metrics.providerRequest(provider, op, requestStatus());
      return out;
    } catch (err) {
      metrics.providerRequest(provider, op, requestStatus(err));
      throw err;
    }
  }
  return Object.fromEntries(Object.entries(providers).map(([name, p]) => [name, metered(name, p)]));
}

/** Records what a job's move from `prev` to its current status tells: render time and credits, delivery time and how it went. */
export function recordTransition(metrics: CoreMetrics, prev: JobStatus, job: JobRecord): void {
  if (job.status === 'completed' && prev === 'running') {
    // Only a render we watched: a synchronous provider that answered the create with the video has no render time of its own.
    if (job.submittedAt !== undefined && job.completedAt !== undefined) metrics.renderSeconds((job.completedAt - job.submittedAt) / 1000);
  }
  if (job.status === 'completed' && job.result?.creditsUsed !== undefined && job.result.creditsUsed > 0) metrics.credits(job.provider, job.result.creditsUsed);
  if (job.status === 'delivered') {
    if (job.completedAt !== undefined && job.finishedAt !== undefined) metrics.deliverySeconds((job.finishedAt - job.completedAt) / 1000);
    metrics.upload(job.surface, job.result?.deliveredAs ?? 'file');
  }
}
