/**
 * What delivery asks of the video tools (ffmpeg, through the VideoTools port):
 * a copy of an over-limit video that fits the conversation's upload limit, and
 * the last frame of a delivered video, kept for "Extend". Without tools, neither
 * happens: over-limit videos go as links. Neither ever fails a delivery: a copy
 * that can't be made means a link, a frame that can't be grabbed (or copied to a
 * shared store) is only logged.
 */
import { stat } from 'node:fs/promises';
import type { JobFiles } from './job-files.js';
import type { Logger } from './logger.js';
import type { VideoTools } from './ports.js';
import { VideoToolsStoppedError } from './ports.js';

export function createDeliveryMedia(d: {
  /** Tools that passed `detect()`; none when ffmpeg isn't installed. */
  tools?: VideoTools;
  files: JobFiles;
  logger: Logger;
  /** Keep last frames (FRAME_RETENTION_DAYS above 0). */
  keepFrames: boolean;
}) {
  const tools = d.tools;
  /** Frame grabs under way, by job (they outlive the delivery that started them). */
  const grabbing = new Map<string, Promise<void>>();

  return {
    canFit: tools !== undefined,

    /**
     * A copy of `source` that fits `maxBytes`, next to it: an earlier complete one (a retry after a
     * crash) or a new one. Undefined, logged, when it can't be made; VideoToolsStoppedError when
     * shutting down (the attempt is put off, not turned into a link).
     */
    async fit(jobId: string, source: string, maxBytes: number): Promise<{ path: string; bytes: number } | undefined> {
      if (!tools) return undefined;
      const path = d.files.fittedPath(source, maxBytes);
      const have = await stat(path).catch(() => undefined);
      if (have?.isFile() && have.size > 0 && have.size <= maxBytes) {
        d.files.extraAdded(jobId, path, have.size);
        return { path, bytes: have.size };
      }
      try {
        const got = await tools.fitToSize(source, path, { maxBytes });
        d.files.extraAdded(jobId, path, got.bytes);
        d.logger.info({ jobId, bytes: got.bytes, maxBytes, width: got.width, height: got.height, durationS: Math.round(got.durationS * 100) / 100 }, 're-encoded the video to fit the upload limit');
        return { path, bytes: got.bytes };
      } catch (err) {
        if (err instanceof VideoToolsStoppedError) throw err;
        d.logger.warn({ jobId, err, maxBytes }, 'could not re-encode the video to fit the upload limit; posting a link');
        return undefined;
      }
    },

    /**
     * Starts grabbing the last frame of `video` into `frames/<jobId>.jpg` (then copied to a shared
     * store, if any). Returns once the video is held for it (a link, so the job's clean-up can delete
     * its files at once); the grab itself runs in the background, waiting for an encode slot.
     */
    async keepLastFrame(jobId: string, video: string): Promise<void> {
      if (!tools || !d.keepFrames) return;
      let held: string;
      try {
        held = await d.files.frameSource(jobId, video);
      } catch (err) {
        d.logger.warn({ jobId, err }, 'could not keep the last frame of the video');
        return;
      }
      const grab: Promise<void> = tools
        .lastFrame(held, d.files.frames.path(jobId))
        .then(() => d.files.frames.written(jobId))
        .catch((err: unknown) => {
          if (!(err instanceof VideoToolsStoppedError)) d.logger.warn({ jobId, err }, 'could not keep the last frame of the video');
        })
        .finally(() => {
          if (grabbing.get(jobId) === grab) grabbing.delete(jobId);
          return d.files.dropFrameSource(held).catch(() => undefined);
        });
      grabbing.set(jobId, grab);
    },

    /** The frame grab under way for `jobId`, if any (it never rejects). */
    grabbing: (jobId: string): Promise<void> | undefined => grabbing.get(jobId),

    /** Frame grabs still under way. */
    underWay: (): Promise<void>[] => [...grabbing.values()],
  };
}

export type DeliveryMedia = ReturnType<typeof createDeliveryMedia>;
