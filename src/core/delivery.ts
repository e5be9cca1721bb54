/**
 * Delivery, one attempt at a time, as outcomes the job machine applies. The
 * video is fetched to disk at once (provider links expire) unless the videos
 * folder is full; then an attempt is recorded (`delivery_attempt`, durable
 * before any upload, so a crash during it is known) and the file goes to the
 * surface within the size it accepts; a video over it is re-encoded to fit when
 * the video tools are there (delivery-media.ts), else (or if that fails) a link
 * with its expiry is posted. The job id is
 * the surface's idempotency key, so a repeated attempt never posts twice where
 * the platform can prevent it. A failed attempt waits with capped exponential
 * backoff for as long as the video can still be delivered (the local file, or
 * the link until it expires), up to the delivery deadline, across restarts.
 */
import { stat } from 'node:fs/promises';
import type { Clock } from './clock.js';
import type { CoreMetrics } from './core-metrics.js';
import { requestStatus } from './core-metrics.js';

/** How long recording a delivery waits for the "done" note to be shown. */
export const NOTE_WAIT_MS = 2000;
import { DownloadError } from './errors.js';
import type { JobFiles } from './job-files.js';
import type { JobRecord } from './job.js';
import type { JobEvent } from './lifecycle.js';
import type { Live } from './live-job.js';
import type { Logger } from './logger.js';
import type { DeliveryMedia } from './delivery-media.js';
import type { ChatSurface, CompressedNote, DeliveredAs, JobSummary, VideoFetcher } from './ports.js';
import { SurfaceGoneError, SurfaceTooLargeError } from './ports.js';
import { DELIVERY_RETRY, backoffMs } from './retry-policy.js';

type LocalVideo = { path?: string; bytes?: number };

export function createDelivery(d: {
  clock: Clock;
  logger: Logger;
  fetcher: VideoFetcher;
  files: JobFiles;
  media: DeliveryMedia;
  /** Counts the video's download from the provider. */
  metrics?: CoreMetrics;
  config: { maxVideoBytes: number; deliveryDeadlineMs: number };
  surfaceOf(job: JobRecord): ChatSurface | undefined;
  summary(job: JobRecord): JobSummary;
  /** Refreshes the job's progress message (never waits on the platform). */
  show?(l: Live): void;
  /** Runs `fn` outside the delivery slot this attempt holds (for a re-encode, which may wait behind others). */
  aside?<T>(fn: () => Promise<T>): Promise<T>;
}) {
  const deadlineOf = (job: JobRecord) => (job.completedAt ?? job.updatedAt) + d.config.deliveryDeadlineMs;

  /** Waits before the next attempt, never past the deadline. */
  function wait(l: Live, waiting: 'platform' | 'download' | 'disk', err?: unknown): JobEvent {
    l.deliveryFailures++;
    const at = Math.min(d.clock.now() + backoffMs(DELIVERY_RETRY, l.deliveryFailures), deadlineOf(l.job));
    d.logger.warn({ jobId: l.job.id, err, waiting, attempt: l.deliveryFailures, retryInS: Math.round((at - d.clock.now()) / 1000) }, 'delivery is waiting');
    return { type: 'delivery_wait', at, waiting };
  }

  /** The video on local disk, or what stands in the way. */
  async function localVideo(l: Live): Promise<LocalVideo | JobEvent> {
    const job = l.job;
    const video = job.result!.video;
    if (video.kind === 'file') return { path: video.path, bytes: video.bytes };
    const path = d.files.videoPath(job.id);
    const known = d.files.knownVideo(job.id);
    if (known) return { path, bytes: known };
    const have = known === null ? undefined : await stat(path).catch(() => undefined);
    if (have?.isFile()) {
      d.files.videoAdded(job.id, have.size);
      return { path, bytes: have.size };
    }
    if (job.result?.bytes !== undefined && job.result.bytes > d.config.maxVideoBytes) return { bytes: job.result.bytes }; // known too large: link
    if (video.expiresAt !== undefined && video.expiresAt <= d.clock.now()) {
      return { type: 'undeliverable', code: 'video_expired', text: 'The video was made, but its download link expired before it could be delivered.' };
    }
    if (!d.files.reserveDownload(job.id)) return wait(l, 'disk');
    try {
      await d.files.ensureVideoDir();
      const got = await d.fetcher.download(video.url, path, { maxBytes: d.config.maxVideoBytes }).catch((err: unknown) => {
        d.metrics?.providerRequest(job.provider, 'download', requestStatus(err));
        throw err;
      });
      d.metrics?.providerRequest(job.provider, 'download', requestStatus());
      if (!got.ok) return { ...(got.bytes !== undefined ? { bytes: got.bytes } : {}) };
      d.files.videoAdded(job.id, got.bytes);
      return { path, bytes: got.bytes };
    } catch (err) {
      const expired = err instanceof DownloadError && (err.status === 403 || err.status === 404 || err.status === 410);
      if (expired) return { type: 'undeliverable', code: 'video_expired', text: 'The video was made, but its download link had already expired when we fetched it.' };
      if (err instanceof DownloadError && !err.retryable) return { type: 'undeliverable', code: 'download_failed', text: `The video was made, but we could not download it (${err.message}).` };
      return wait(l, 'download', err);
    } finally {
      d.files.downloadDone(job.id);
    }
  }

  /**
   * One step of delivering `l`: returns `delivery_attempt` when the video is ready and no
   * attempt is recorded yet; otherwise makes the attempt.
   */
  async function step(l: Live): Promise<JobEvent> {
    const job = l.job;
    const surface = d.surfaceOf(job);
    if (!surface || !job.result) return { type: 'undeliverable', code: 'undeliverable', text: 'The video was made but there is no way to deliver it here.' };
    if (d.clock.now() >= deadlineOf(job)) {
      const hours = Math.round((d.config.deliveryDeadlineMs / 3_600_000) * 10) / 10;
      return { type: 'undeliverable', code: 'delivery_deadline', text: `The video was made, but it could not be posted here for ${hours} hours, so the bot stopped trying.` };
    }
    const local = await localVideo(l);
    if ('type' in local) return local;
    if (!l.attemptRecorded) return { type: 'delivery_attempt', ...(local.bytes !== undefined ? { bytes: local.bytes } : {}) };
    l.attemptRecorded = false;
    return attempt(l, surface, local);
  }

  async function attempt(l: Live, surface: ChatSurface, file: LocalVideo): Promise<JobEvent> {
    const job = l.job;
    const video = job.result!.video;
    if (video.kind === 'url' && !file.path && video.expiresAt !== undefined && video.expiresAt <= d.clock.now()) {
      return { type: 'undeliverable', code: 'video_expired', text: 'The video was made, but it is too large to upload here and its link has expired.' };
    }
    const credits = job.result!.creditsUsed;
    const caption = { job: d.summary(job), ...(credits !== undefined ? { creditsUsed: credits } : {}) };
    const postLink = (conversation: string, limit: number) =>
      surface.post(
        conversation,
        {
          kind: 'link',
          ...caption,
          ...(video.kind === 'url' ? { url: video.url, ...(video.expiresAt ? { expiresAt: video.expiresAt } : {}) } : {}),
          ...(file.bytes !== undefined ? { bytes: file.bytes } : {}),
          limitBytes: Math.min(limit, d.config.maxVideoBytes),
        },
        { idempotencyKey: job.id },
      );
    /** Uploads a file; `undefined` when the platform refuses it as too large. */
    const upload = async (conversation: string, path: string, bytes: number, compressed?: CompressedNote) => {
      try {
        return await surface.upload(
          conversation,
          { path, name: `seedance-${job.request.seed}.mp4`, bytes, contentType: 'video/mp4' },
          { kind: 'video', ...caption, bytes, ...(compressed ? { compressed } : {}) },
          { idempotencyKey: job.id },
        );
      } catch (err) {
        if (err instanceof SurfaceTooLargeError) return undefined;
        throw err;
      }
    };
    const linkStillGood = video.kind === 'url' && (video.expiresAt === undefined || video.expiresAt > d.clock.now());
    let conversation = job.conversation;
    for (let hop = 0; hop < 2; hop++) {
      try {
        const limit = await surface.maxUploadBytes(conversation, job.meta);
        if (!file.path || file.bytes === undefined) return delivered(l, surface, 'link', await postLink(conversation, limit), conversation, file.bytes);
        let fitTo = limit;
        let linkLimit = limit;
        if (file.bytes <= limit) {
          const ref = await upload(conversation, file.path, file.bytes);
          if (ref) return delivered(l, surface, 'file', ref, conversation, file.bytes, file.path);
          // The platform's real limit is below what it declared: a copy at half the size has a fair chance.
          d.logger.info({ jobId: job.id, bytes: file.bytes, limit }, `platform refused the file as too large; ${d.media.canFit ? 'compressing it' : 'posting a link'}`);
          fitTo = Math.floor(file.bytes / 2);
          linkLimit = Math.min(limit, file.bytes - 1);
        }
        // Re-encoding takes a while: say so, and keep offering the view until the edit pace lets it through.
        let stopShowing = () => {};
        if (d.media.canFit && d.show) {
          l.compressing = true;
          const show = () => {
            d.show!(l);
            stopShowing = d.clock.setTimer(show, 1000);
          };
          show();
        }
        const fit = () => d.media.fit(job.id, file.path!, fitTo);
        const fitted = await (d.aside ? d.aside(fit) : fit()).finally(() => {
          l.compressing = false;
          stopShowing();
        });
        if (fitted) {
          const note: CompressedNote = { originalBytes: file.bytes, ...(linkStillGood ? { url: video.url, ...(video.expiresAt ? { expiresAt: video.expiresAt } : {}) } : {}) };
          const ref = await upload(conversation, fitted.path, fitted.bytes, note);
          if (ref) return delivered(l, surface, 'compressed', ref, conversation, file.bytes, file.path);
          d.logger.info({ jobId: job.id, bytes: fitted.bytes, limit }, 'platform refused the compressed copy as too large too; posting a link');
          linkLimit = Math.min(linkLimit, fitted.bytes - 1);
        }
        return delivered(l, surface, 'link', await postLink(conversation, linkLimit), conversation, file.bytes, file.path);
      } catch (err) {
        if (err instanceof SurfaceGoneError && hop === 0 && surface.fallbackConversation) {
          const alt = await surface.fallbackConversation(job.requester.id, conversation).catch(() => undefined);
          if (alt) {
            d.logger.info({ jobId: job.id, alt }, 'conversation gone; delivering to fallback');
            conversation = alt;
            continue;
          }
        }
        if (err instanceof SurfaceGoneError) return { type: 'undeliverable', code: 'undeliverable', text: `The video was made but could not be posted (${err.message}).` };
        return wait(l, 'platform', err);
      }
    }
    return { type: 'undeliverable', code: 'undeliverable', text: 'The video was made but there is nowhere left to post it.' };
  }

  /**
   * The video is posted: turn the progress message into a short "done" note, then record the
   * delivery. The note gets a moment (NOTE_WAIT_MS) before the delivery is recorded, so that
   * usually a crash in between repeats the note with the (idempotent) delivery instead of
   * leaving the message at "Uploading…"; a slow or hung edit goes on in the background and
   * never holds the delivery up. Tried twice; it is only a note. The last frame of the video
   * (`video`, on disk) is grabbed in the background, for "Extend".
   */
  async function delivered(l: Live, surface: ChatSurface, deliveredAs: DeliveredAs, messageRef: string, conversation: string, bytes?: number, video?: string): Promise<JobEvent> {
    l.deliveryFailures = 0;
    const job = l.job;
    // Before the delivery is recorded (after which the job's files go): the original, for its last frame.
    if (video) await d.media.keepLastFrame(job.id, video);
    if (job.progressMessage && job.progressMessage !== messageRef) {
      const ref = job.progressMessage;
      const note = { kind: 'done' as const, job: d.summary(job), elapsedSeconds: Math.round((d.clock.now() - job.createdAt) / 1000), deliveredAs };
      const sending = (async () => {
        for (let attempt = 1; attempt <= 2; attempt++) {
          try {
            await surface.edit(ref, note);
            return;
          } catch (err) {
            if (err instanceof SurfaceGoneError || attempt === 2) {
              d.logger.info({ jobId: job.id, err }, 'could not mark the progress message done');
              return;
            }
            await new Promise<void>((r) => d.clock.setTimer(r, 1000));
          }
        }
      })();
      let cancel: () => void = () => {};
      await Promise.race([sending, new Promise<void>((r) => (cancel = d.clock.setTimer(r, NOTE_WAIT_MS)))]);
      cancel();
    }
    return { type: 'delivered', deliveredAs, messageRef, conversation, ...(bytes !== undefined ? { bytes } : {}) };
  }

  return { step, deadlineOf };
}
