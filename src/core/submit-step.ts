/**
 * One submit attempt, as an outcome: submitted (with the provider's first
 * status, if it gave one), retry later (the provider certainly made no job),
 * refused (certainly no job, and none will come), or unknown (the request may
 * have reached the provider: never resent, and the user is told it may be
 * charged). Inline images are read from disk only for the request, with a
 * bound on how many are held in memory at once.
 */
import { FramesUnreachableError } from './frame-store.js';
import type { Catalogue } from './catalogue.js';
import { ProviderError, RateLimitError, userMessageFor } from './errors.js';
import type { JobFiles } from './job-files.js';
import type { JobRecord } from './job.js';
import type { JobEvent } from './lifecycle.js';
import type { ProviderCallContext, ProviderImage, ProviderStatus, VideoProvider } from './ports.js';
import type { PreparedImage } from './request.js';
import { requestImages } from './request.js';
import { MAX_SUBMIT_ATTEMPTS, SUBMIT_RETRY, backoffMs } from './retry-policy.js';

export interface SubmitOutcome {
  event: JobEvent;
  /** The provider's status from the create response, to apply after `submit_ok`. */
  status?: ProviderStatus;
}

/** A counting semaphore. */
export function createLimiter(max: number) {
  let active = 0;
  const waiting: (() => void)[] = [];
  const acquire = async () => {
    if (active >= max) await new Promise<void>((r) => waiting.push(r));
    active++;
  };
  const release = () => {
    active--;
    waiting.shift()?.();
  };
  async function run<T>(fn: () => Promise<T>): Promise<T> {
    await acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }
  /**
   * Inside `run`: gives the slot back while `fn` waits on something else (an encode behind other
   * encodes), then takes one again before going on.
   */
  async function aside<T>(fn: () => Promise<T>): Promise<T> {
    release();
    try {
      return await fn();
    } finally {
      await acquire();
    }
  }
  return Object.assign(run, { aside });
}

const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);

export function unknownSubmitText(label: string, at: number, why: string): string {
  return (
    `${why}, so we can't tell whether ${label} started the job. It was not sent again, to avoid paying twice; it may have been charged. ` +
    `The bot's operator can look for a generation started at ${hhmm(at)} UTC in the ${label} dashboard.`
  );
}

export function createSubmitStep(d: {
  providers: Readonly<Record<string, VideoProvider>>;
  catalogue: Catalogue;
  files: JobFiles;
  providerLabel(provider: string): string;
  now(): number;
  ctx(job: JobRecord): ProviderCallContext;
  /** Submits holding an inline image in memory at once. */
  inlineLimit: number;
}) {
  const inline = createLimiter(d.inlineLimit);

  async function providerImage(img: PreparedImage | undefined): Promise<ProviderImage | undefined> {
    if (!img) return undefined;
    const { file: _file, data: _data, url: _url, ...facts } = img;
    return { ...facts, url: await d.files.imageForProvider(img) };
  }

  async function send(job: JobRecord, provider: VideoProvider): Promise<SubmitOutcome> {
    const spec = d.catalogue.byId(job.request.modelId)!;
    const label = d.providerLabel(job.provider);
    let request;
    try {
      const { references: refs, ...rest } = job.request;
      request = {
        ...rest,
        model: spec,
        image: await providerImage(job.request.image),
        lastFrame: await providerImage(job.request.lastFrame),
        ...(refs?.length ? { references: await Promise.all(refs.map(async (r) => (await providerImage(r))!)) } : {}),
      };
    } catch (err) {
      // A kept frame only the shared store holds, while it can't be read: nothing sent yet, try again.
      if (err instanceof FramesUnreachableError && job.attempts.submit < MAX_SUBMIT_ATTEMPTS) return { event: { type: 'submit_retry', at: d.now() + backoffMs(SUBMIT_RETRY, job.attempts.submit) } };
      return { event: { type: 'submit_refused', code: 'image_missing', text: "This job's image is no longer in the bot's data folder, so nothing was submitted. Send it again." } };
    }
    const sentAt = d.now();
    try {
      const started = await provider.start(request, d.ctx(job));
      return { event: { type: 'submit_ok', operation: started.operation, ...(started.status?.providerStatus ? { providerStatus: started.status.providerStatus } : {}) }, ...(started.status ? { status: started.status } : {}) };
    } catch (err) {
      if (err instanceof ProviderError && err.notCreated) {
        if (err.retryable && job.attempts.submit < MAX_SUBMIT_ATTEMPTS) {
          const wait = Math.max(backoffMs(SUBMIT_RETRY, job.attempts.submit), err instanceof RateLimitError ? (err.retryAfterMs ?? 0) : 0);
          return { event: { type: 'submit_retry', at: d.now() + wait } };
        }
        return { event: { type: 'submit_refused', code: err.code, text: userMessageFor(err) } };
      }
      const why = err instanceof ProviderError && err.status ? `${label} answered ${err.status} to the request` : `The connection to ${label} broke while the request was being sent`;
      return { event: { type: 'submit_unknown', text: unknownSubmitText(label, sentAt, why) } };
    }
  }

  /** Sends the job's create request once. The job must have been recorded as `submitting`. */
  return async function submit(job: JobRecord): Promise<SubmitOutcome> {
    const provider = d.providers[job.provider];
    if (!provider || !d.catalogue.byId(job.request.modelId)) {
      return { event: { type: 'submit_refused', code: 'provider_unavailable', text: `This bot can no longer use ${job.request.modelId}; nothing was submitted.` } };
    }
    const hasInline = requestImages(job.request).some((i) => i.file);
    return hasInline ? inline(() => send(job, provider)) : send(job, provider);
  };
}
