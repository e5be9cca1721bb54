/**
 * A job's files under DATA_DIR: input images written once when the job is
 * admitted (the record keeps only their path), and the finished video (and any
 * copy re-encoded to fit an upload limit) while it is being delivered. They go
 * when the job ends, however it ends; files left by a crash are swept at start.
 * `videos/` has a size cap: when it is reached, downloads wait (and say so in
 * the log) until deliveries free space. The last frame of a delivered video is
 * kept in `frames/` for FRAME_RETENTION_DAYS, past the job's end (and, where the
 * store is shared, a copy in the store: frame-store.ts).
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, readdir, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SharedFrameCopies } from './frame-store.js';
import { createFrameStore } from './frame-store.js';
import { toDataUri } from './image-probe.js';
import type { JobRecord } from './job.js';
import type { Logger } from './logger.js';
import type { PreparedImage } from './request.js';
import { KEPT_IMAGE, requestImages } from './request.js';

const EXT: Record<string, string> = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp', 'image/gif': 'gif', 'image/bmp': 'bmp', 'image/tiff': 'tiff' };

/** Deletes a file that may already be gone (one system call, unlike `rm`). */
async function remove(path: string): Promise<void> {
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/** The job id a file in images/ or videos/ belongs to (`<id>.mp4`, `<id>-first.png`, `<id>.mp4.part`, `<id>.mp4.fit-<bytes>.mp4`). */
const jobIdOf = (name: string) => /^([0-9a-f-]{36})[.-]/i.exec(name)?.[1];
const JOB_ID = /^[0-9a-f-]{36}$/i;
/** A frame grab's temporary files (a link to the video, a partial JPEG) older than this were left by a crash. */
const FRAME_WORK_MAX_AGE_MS = 3_600_000;

/** FRAME_RETENTION_DAYS' default: how long a delivered video's last frame is kept. */
export const DEFAULT_FRAME_RETENTION_MS = 7 * 86_400_000;

export function createJobFiles(o: {
  workDir: string;
  videosCapBytes: number;
  logger: Logger;
  /** How long a delivered video's last frame is kept (FRAME_RETENTION_DAYS). */
  frameRetentionMs?: number;
  /** Where last frames are copied when instances share the store (each has its own DATA_DIR). */
  sharedFrames?: SharedFrameCopies;
}) {
  const imagesDir = join(o.workDir, 'images');
  const videosDir = join(o.workDir, 'videos');
  const framesDir = join(o.workDir, 'frames');
  const frameRetentionMs = o.frameRetentionMs ?? DEFAULT_FRAME_RETENTION_MS;
  const frames = createFrameStore({ framesDir, retentionMs: frameRetentionMs, logger: o.logger, ...(o.sharedFrames ? { copies: o.sharedFrames } : {}) });
  /** Bytes in videos/, as far as this process knows (scanned at start, then counted). */
  let videoBytes = 0;
  const sizes = new Map<string, number>();
  /** A job's other files in videos/ (copies re-encoded to fit, a crash's leftovers), by path, with their sizes. */
  const extras = new Map<string, Map<string, number>>();
  /** Downloads under way; each counts as a typical video until it is done. */
  const downloading = new Set<string>();
  let full = false;
  /** Set once videos/ has been measured: then a video missing from `sizes` is not on disk. */
  let measured = false;
  let dirMade: Promise<unknown> | undefined;
  const typicalBytes = () => (sizes.size ? videoBytes / sizes.size : 10 * 2 ** 20);

  // File ages are compared with the file system's (wall-clock) times, not the injected clock.
  const ageOf = (st: { mtimeMs: number }) => Date.now() - st.mtimeMs;

  /** Deletes frames past FRAME_RETENTION_DAYS and what crashed frame grabs left behind. */
  async function sweepFrames(): Promise<number> {
    let removed = 0;
    for (const name of await readdir(framesDir).catch(() => [] as string[])) {
      const path = join(framesDir, name);
      const st = await stat(path).catch(() => undefined);
      if (!st) continue;
      const frame = name.endsWith('.jpg') && JOB_ID.test(name.slice(0, -4));
      // A link's ctime is when it was made (linking touches the inode); its mtime is the video's.
      const stale = frame ? ageOf(st) > frameRetentionMs : Date.now() - st.ctimeMs > FRAME_WORK_MAX_AGE_MS;
      if (!stale) continue;
      await rm(path, { force: true });
      removed++;
    }
    return removed;
  }

  return {
    videoPath: (jobId: string) => join(videosDir, `${jobId}.mp4`),

    /** Where a copy of `source` re-encoded to fit `maxBytes` goes: one name per limit, so a retry reuses it. */
    fittedPath: (source: string, maxBytes: number) => `${source}.fit-${maxBytes}.mp4`,

    /** The last frames of delivered videos (here, and in the store where it is shared). */
    frames,

    /** The last frame of a job's delivered video, if one was kept and is within FRAME_RETENTION_DAYS. */
    frame: (jobId: string): Promise<Uint8Array | undefined> => frames.get(jobId),

    /**
     * Keeps the job's video readable for a frame grab after the job's files are deleted: a hard
     * link in frames/ (the same disk, no copy). Delete it with `dropFrameSource` once done.
     */
    async frameSource(jobId: string, video: string): Promise<string> {
      await mkdir(framesDir, { recursive: true });
      const path = join(framesDir, `${jobId}.src-${randomBytes(4).toString('hex')}.mp4`);
      await link(video, path);
      return path;
    },

    dropFrameSource: (path: string) => remove(path),

    sweepFrames,

    /** Writes an image's bytes once and returns the reference the record keeps. */
    async storeImage(jobId: string, role: 'first' | 'last' | `ref${number}`, image: PreparedImage): Promise<PreparedImage> {
      if (!image.data) return image;
      await mkdir(imagesDir, { recursive: true });
      const file = join('images', `${jobId}-${role}.${EXT[image.mime ?? ''] ?? 'img'}`);
      await writeFile(join(o.workDir, file), image.data);
      const { data: _data, ...rest } = image;
      return { ...rest, file };
    },

    /** The image as the provider takes it: its URL, or the stored bytes as a data URI. */
    async imageForProvider(image: PreparedImage): Promise<string> {
      if (image.url) return image.url;
      if (!image.file) throw new Error('the image has neither a URL nor a file');
      // A kept frame may be only in the shared store (this instance took the job over).
      const bytes = KEPT_IMAGE.test(image.file) ? await frames.get(image.file.slice('frames/'.length, -'.jpg'.length), { strict: true }) : await readFile(join(o.workDir, image.file));
      if (!bytes) throw new Error(`the kept frame ${image.file} is gone`);
      return toDataUri(bytes, { mime: image.mime ?? 'application/octet-stream' });
    },

    /**
     * Reserves room for downloading a job's video, or says there is none now (logged once when
     * the cap is reached, and once when it frees up). Release with `downloadDone`.
     */
    reserveDownload(jobId: string): boolean {
      const ok = videoBytes + downloading.size * typicalBytes() < o.videosCapBytes;
      if (ok) downloading.add(jobId);
      if (!ok && !full) {
        o.logger.warn({ videosMb: Math.round(videoBytes / 2 ** 20), capMb: Math.round(o.videosCapBytes / 2 ** 20), dir: videosDir }, 'the videos folder is full (VIDEOS_MAX_MB); downloads wait until deliveries free space');
      } else if (ok && full) o.logger.info({ videosMb: Math.round(videoBytes / 2 ** 20) }, 'the videos folder has room again');
      full = !ok;
      return ok;
    },

    async ensureVideoDir() {
      dirMade ??= mkdir(videosDir, { recursive: true }).catch((err: unknown) => {
        dirMade = undefined;
        throw err;
      });
      await dirMade;
    },

    /** The size of the job's video if it is known to be on disk; `null` if known not to be; undefined if unknown. */
    knownVideo(jobId: string): number | null | undefined {
      const n = sizes.get(jobId);
      return n !== undefined ? n : measured ? null : undefined;
    },

    downloadDone(jobId: string) {
      downloading.delete(jobId);
    },

    /** Counts a video that is now on disk. */
    videoAdded(jobId: string, bytes: number) {
      videoBytes += bytes - (sizes.get(jobId) ?? 0);
      sizes.set(jobId, bytes);
    },

    /** Counts another file of the job in videos/ (a copy re-encoded to fit), deleted with the job's files. */
    extraAdded(jobId: string, path: string, bytes: number) {
      const mine = extras.get(jobId) ?? new Map<string, number>();
      videoBytes += bytes - (mine.get(path) ?? 0);
      mine.set(path, bytes);
      extras.set(jobId, mine);
    },

    /** Deletes every file of a job that has ended. */
    async removeJobFiles(job: JobRecord): Promise<void> {
      // Only what is known to be there (a partial download removes itself; a crash's leftovers are swept at start).
      if (sizes.has(job.id) || !measured) await remove(join(videosDir, `${job.id}.mp4`));
      videoBytes -= sizes.get(job.id) ?? 0;
      sizes.delete(job.id);
      for (const [path, bytes] of extras.get(job.id) ?? []) {
        await remove(path);
        videoBytes -= bytes;
      }
      extras.delete(job.id);
      // A kept image (a last frame an extended clip starts from) belongs to frames/ and its retention.
      for (const img of requestImages(job.request)) if (img.file && !KEPT_IMAGE.test(img.file)) await remove(join(o.workDir, img.file));
      // A video a provider handed over as a file (Segmind's synchronous API).
      if (job.result?.video.kind === 'file') await remove(job.result.video.path);
    },

    /** Measures videos/ and deletes files whose job is no longer active (a crash between the end and the clean-up). */
    async sweep(isActive: (jobId: string) => Promise<boolean>): Promise<number> {
      let removed = 0;
      videoBytes = 0;
      sizes.clear();
      extras.clear();
      for (const dir of [videosDir, imagesDir]) {
        for (const name of await readdir(dir).catch(() => [] as string[])) {
          const id = jobIdOf(name);
          if (id && (await isActive(id))) {
            const size = dir === videosDir ? ((await stat(join(dir, name)).catch(() => undefined))?.size ?? 0) : 0;
            if (size) {
              videoBytes += size;
              // Only the video itself is "the video on disk"; a partial download or a re-encoded copy is an extra.
              if (name === `${id}.mp4`) sizes.set(id, size);
              else extras.set(id, new Map([...(extras.get(id) ?? []), [join(dir, name), size]]));
            }
            continue;
          }
          await rm(join(dir, name), { force: true });
          removed++;
        }
      }
      measured = true;
      removed += await sweepFrames().catch((err: unknown) => {
        o.logger.warn({ err }, 'could not clean up old frames');
        return 0;
      });
      return removed;
    },
  };
}

export type JobFiles = ReturnType<typeof createJobFiles>;
