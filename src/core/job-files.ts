/**
 * A job's files under DATA_DIR: input images written once when the job is
 * admitted (the record keeps only their path), and the finished video while it
 * is being delivered. Both go when the job ends, however it ends; files left by
 * a crash are swept at start. `videos/` has a size cap: when it is reached,
 * downloads wait (and say so in the log) until deliveries free space.
 */
import { mkdir, readFile, readdir, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toDataUri } from './image-probe.js';
import type { JobRecord } from './job.js';
import type { Logger } from './logger.js';
import type { PreparedImage } from './request.js';
import { requestImages } from './request.js';

const EXT: Record<string, string> = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp', 'image/gif': 'gif', 'image/bmp': 'bmp', 'image/tiff': 'tiff' };

/** Deletes a file that may already be gone (one system call, unlike `rm`). */
async function remove(path: string): Promise<void> {
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/** The job id a file in images/ or videos/ belongs to (`<id>.mp4`, `<id>-first.png`, `<id>.mp4.part`). */
const jobIdOf = (name: string) => /^([0-9a-f-]{36})[.-]/i.exec(name)?.[1];

export function createJobFiles(o: { workDir: string; videosCapBytes: number; logger: Logger }) {
  const imagesDir = join(o.workDir, 'images');
  const videosDir = join(o.workDir, 'videos');
  /** Bytes in videos/, as far as this process knows (scanned at start, then counted). */
  let videoBytes = 0;
  const sizes = new Map<string, number>();
  /** Downloads under way; each counts as a typical video until it is done. */
  const downloading = new Set<string>();
  let full = false;
  /** Set once videos/ has been measured: then a video missing from `sizes` is not on disk. */
  let measured = false;
  let dirMade: Promise<unknown> | undefined;
  const typicalBytes = () => (sizes.size ? videoBytes / sizes.size : 10 * 2 ** 20);

  return {
    videoPath: (jobId: string) => join(videosDir, `${jobId}.mp4`),

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
      const bytes = await readFile(join(o.workDir, image.file));
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

    /** Deletes every file of a job that has ended. */
    async removeJobFiles(job: JobRecord): Promise<void> {
      // Only what is known to be there (a partial download removes itself; a crash's leftovers are swept at start).
      if (sizes.has(job.id) || !measured) await remove(join(videosDir, `${job.id}.mp4`));
      videoBytes -= sizes.get(job.id) ?? 0;
      sizes.delete(job.id);
      for (const img of requestImages(job.request)) if (img.file) await remove(join(o.workDir, img.file));
      // A video a provider handed over as a file (Segmind's synchronous API).
      if (job.result?.video.kind === 'file') await remove(job.result.video.path);
    },

    /** Measures videos/ and deletes files whose job is no longer active (a crash between the end and the clean-up). */
    async sweep(isActive: (jobId: string) => Promise<boolean>): Promise<number> {
      let removed = 0;
      videoBytes = 0;
      sizes.clear();
      for (const dir of [videosDir, imagesDir]) {
        for (const name of await readdir(dir).catch(() => [] as string[])) {
          const id = jobIdOf(name);
          if (id && (await isActive(id))) {
            const size = dir === videosDir ? ((await stat(join(dir, name)).catch(() => undefined))?.size ?? 0) : 0;
            if (size) {
              videoBytes += size;
              sizes.set(id, (sizes.get(id) ?? 0) + size);
            }
            continue;
          }
          await rm(join(dir, name), { force: true });
          removed++;
        }
      }
      measured = true;
      return removed;
    },
  };
}

export type JobFiles = ReturnType<typeof createJobFiles>;
