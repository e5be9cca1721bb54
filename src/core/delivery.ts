/**
 * Delivery: fetch the finished video at once (provider links expire), hand it to
 * the surface within the size it accepts, or post a link with its expiry. The
 * `delivering` state is persisted before the upload and `delivered` after, and
 * the job id is the surface's idempotency key, so a crash in between never
 * leads to a lost or doubled video where the platform can prevent it.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from './clock.js';
import { DownloadError } from './errors.js';
import type { JobRecord } from './job.js';
import type { Live } from './live-job.js';
import type { Logger } from './logger.js';
import type { ChatSurface, JobSummary, VideoFetcher } from './ports.js';
import { SurfaceGoneError, SurfaceTooLargeError } from './ports.js';

export function createDelivery(d: {
  clock: Clock;
  logger: Logger;
  fetcher: VideoFetcher;
  config: { workDir: string; maxVideoBytes: number; maxDeliveryAttempts: number };
  surfaceOf(job: JobRecord): ChatSurface | undefined;
  summary(job: JobRecord): JobSummary;
  save(l: Live, patch: Partial<JobRecord>): Promise<void>;
  fail(l: Live, code: string, text: string): Promise<void>;
  delivered(l: Live): Promise<void>;
  retryLater(l: Live, ms: number): void;
  progress(l: Live): Promise<void>;
  backoff(attempt: number): number;
}) {
  const videoDir = join(d.config.workDir, 'videos');

  /** Returns the local file and its size, or the reason there is none. */
  async function fetchVideo(l: Live): Promise<{ path?: string; bytes?: number; tooLarge?: boolean }> {
    const video = l.job.result!.video;
    if (video.kind === 'file') return { path: video.path, bytes: video.bytes };
    const path = join(videoDir, `${l.job.id}.mp4`);
    await mkdir(videoDir, { recursive: true });
    const got = await d.fetcher.download(video.url, path, { maxBytes: d.config.maxVideoBytes });
    if (!got.ok) return { tooLarge: true, bytes: got.bytes };
    return { path, bytes: got.bytes };
  }

  async function deliver(l: Live): Promise<void> {
    const job = l.job;
    const surface = d.surfaceOf(job);
    if (!surface || !job.result) {
      await d.fail(l, 'undeliverable', 'The video was made but there is no way to deliver it here.');
      return;
    }
    const attempt = job.attempts.delivery + 1;
    await d.save(l, { status: 'delivering', attempts: { ...job.attempts, delivery: attempt } });
    void d.progress(l);

    let file: { path?: string; bytes?: number; tooLarge?: boolean };
    try {
      file = await fetchVideo(l);
    } catch (err) {
      const expired = err instanceof DownloadError && (err.status === 403 || err.status === 404 || err.status === 410);
      if (expired) {
        await d.fail(l, 'video_expired', 'The video was made, but its download link had already expired when we fetched it.');
      } else if (attempt >= d.config.maxDeliveryAttempts || (err instanceof DownloadError && !err.retryable)) {
        await d.fail(l, 'download_failed', `The video was made, but we could not download it (${(err as Error).message}).`);
      } else {
        d.logger.warn({ jobId: job.id, err, attempt }, 'video download failed; retrying');
        await d.save(l, { status: 'completed' });
        d.retryLater(l, d.backoff(attempt));
      }
      return;
    }

    const credits = job.result.creditsUsed;
    const caption = { job: d.summary(job), ...(credits !== undefined ? { creditsUsed: credits } : {}) };
    const postLink = (conversation: string, limit: number) => {
      const video = job.result!.video;
      return surface.post(conversation, {
        kind: 'link',
        ...caption,
        ...(video.kind === 'url' ? { url: video.url, ...(video.expiresAt ? { expiresAt: video.expiresAt } : {}) } : {}),
        ...(file.bytes !== undefined ? { bytes: file.bytes } : {}),
        limitBytes: Math.min(limit, d.config.maxVideoBytes),
      });
    };
    let conversation = job.conversation;
    for (let hop = 0; hop < 2; hop++) {
      try {
        const limit = await surface.maxUploadBytes(conversation, job.meta);
        let messageRef: string;
        let deliveredAs: 'file' | 'link' = 'file';
        if (file.path && file.bytes !== undefined && file.bytes <= limit) {
          try {
            messageRef = await surface.upload(
              conversation,
              { path: file.path, name: `seedance-${job.request.seed}.mp4`, bytes: file.bytes, contentType: 'video/mp4' },
              { kind: 'video', ...caption, bytes: file.bytes },
              { idempotencyKey: job.id },
            );
          } catch (err) {
            if (!(err instanceof SurfaceTooLargeError)) throw err;
            d.logger.info({ jobId: job.id, bytes: file.bytes, limit }, 'platform refused the file as too large; posting a link');
            messageRef = await postLink(conversation, Math.min(limit, file.bytes - 1));
            deliveredAs = 'link';
          }
        } else {
          messageRef = await postLink(conversation, limit);
          deliveredAs = 'link';
        }
        await d.save(l, {
          status: 'delivered',
          finishedAt: d.clock.now(),
          conversation,
          result: { ...job.result, bytes: file.bytes, deliveredAs, messageRef },
        });
        d.logger.info({ jobId: job.id, deliveredAs, bytes: file.bytes }, 'delivered');
        if (file.path) await rm(file.path, { force: true }).catch(() => undefined);
        if (job.progressMessage && job.progressMessage !== messageRef) {
          const elapsedSeconds = Math.round((d.clock.now() - job.createdAt) / 1000);
          await surface.edit(job.progressMessage, { kind: 'done', job: d.summary(job), elapsedSeconds, deliveredAs }).catch((err: unknown) => {
            d.logger.info({ jobId: job.id, err }, 'could not mark the progress message done');
          });
        }
        await d.delivered(l);
        return;
      } catch (err) {
        if (err instanceof SurfaceGoneError && hop === 0 && surface.fallbackConversation) {
          const alt = await surface.fallbackConversation(job.requester.id, conversation).catch(() => undefined);
          if (alt) {
            d.logger.info({ jobId: job.id, alt }, 'conversation gone; delivering to fallback');
            conversation = alt;
            continue;
          }
        }
        if (err instanceof SurfaceGoneError || attempt >= d.config.maxDeliveryAttempts) {
          await d.fail(l, 'undeliverable', `The video was made but could not be posted (${(err as Error).message}).`);
          return;
        }
        d.logger.warn({ jobId: job.id, err, attempt }, 'upload failed; retrying');
        await d.save(l, { status: 'completed' });
        d.retryLater(l, d.backoff(attempt));
        return;
      }
    }
  }

  return { deliver };
}
