/**
 * Where the last frames of delivered videos are kept for Extend, for
 * FRAME_RETENTION_DAYS: `frames/<job id>.jpg` under DATA_DIR and, when several
 * instances share one store (Redis, each with its own DATA_DIR), a copy there
 * too (`frame:<job id>`, expiring with the frame), so that any instance can
 * extend a video another delivered, or submit an extended clip it took over.
 * A frame read finds the local file first; a shared copy found instead is
 * written to the local folder as a cache, with the time it was grabbed, so
 * that it expires there at the same time. On one host (SQLite) there is only
 * the local folder: no image goes into the database.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from './logger.js';

const JOB_ID = /^[0-9a-f-]{36}$/i;

/** The last frames of delivered videos, while they are kept. */
export interface FrameStore {
  /** Where a frame grab writes a job's frame (a JPEG); report it with `written` once it is complete. */
  path(jobId: string): string;
  /** The frame at `path(jobId)` is complete: shares it where the store is shared. Never rejects (a failure is logged). */
  written(jobId: string): Promise<void>;
  /**
   * The frame's bytes while it is kept (within FRAME_RETENTION_DAYS); undefined otherwise. Never
   * rejects, unless `strict`: then a shared store that can't be read throws {@link FramesUnreachableError}
   * (the frame may be there: worth trying again later, unlike a frame that is gone).
   */
  get(jobId: string, o?: { strict?: boolean }): Promise<Uint8Array | undefined>;
}

/** The shared store that may hold a frame could not be read. */
export class FramesUnreachableError extends Error {
  constructor(jobId: string, cause: unknown) {
    super(`the shared store could not be read for the last frame of ${jobId}`, { cause });
    this.name = 'FramesUnreachableError';
  }
}

/** A frame with the time it was grabbed (wall clock, ms). */
export interface KeptFrame {
  data: Uint8Array;
  at: number;
}

/** The local folder, with what the shared copies need of it. */
export interface LocalFrameStore extends FrameStore {
  read(jobId: string): Promise<KeptFrame | undefined>;
  /** Writes a frame atomically (temporary file, then rename), dated when it was grabbed. */
  write(jobId: string, frame: KeptFrame): Promise<void>;
}

/**
 * Where the shared copies go: the store's keyv on Redis fits (`set` with a TTL in ms, told to
 * throw on errors; a `false` answer counts as a failure too).
 */
export interface SharedFrameCopies {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown, ttlMs?: number): Promise<unknown>;
}

// Frame ages are compared with the file system's (wall-clock) times, not the injected clock.
const now = () => Date.now();

export function createLocalFrameStore(o: { framesDir: string; retentionMs: number }): LocalFrameStore {
  const path = (jobId: string) => join(o.framesDir, `${jobId}.jpg`);

  async function read(jobId: string): Promise<KeptFrame | undefined> {
    if (!JOB_ID.test(jobId)) return undefined;
    const st = await stat(path(jobId)).catch(() => undefined);
    if (!st?.isFile() || now() - st.mtimeMs > o.retentionMs) return undefined;
    const data = await readFile(path(jobId)).catch(() => undefined);
    return data && { data, at: st.mtimeMs };
  }

  return {
    path,
    read,
    written: async () => {},
    get: async (jobId) => (await read(jobId))?.data,
    async write(jobId, frame) {
      if (!JOB_ID.test(jobId)) throw new Error(`not a job id: ${jobId}`);
      await mkdir(o.framesDir, { recursive: true });
      // Not `<id>.jpg`: the frame sweep deletes it after an hour if a crash leaves it.
      const tmp = join(o.framesDir, `${jobId}.jpg.${randomBytes(4).toString('hex')}.part`);
      try {
        await writeFile(tmp, frame.data);
        await utimes(tmp, new Date(frame.at), new Date(frame.at));
        await rename(tmp, path(jobId));
      } finally {
        await rm(tmp, { force: true });
      }
    },
  };
}

/** The shared copy's value: base64 in JSON, which every keyv serializer keeps as it is. */
interface SharedValue {
  at: number;
  jpeg: string;
}

const isSharedValue = (v: unknown): v is SharedValue => typeof v === 'object' && v !== null && typeof (v as SharedValue).at === 'number' && typeof (v as SharedValue).jpeg === 'string';

/** The local folder plus a copy of each frame in a store every instance reaches. */
export function withSharedFrameCopies(local: LocalFrameStore, o: { copies: SharedFrameCopies; retentionMs: number; logger: Logger }): FrameStore {
  const key = (jobId: string) => `frame:${jobId}`;
  return {
    path: local.path,

    async written(jobId) {
      const frame = await local.read(jobId);
      const ttlMs = frame ? Math.floor(o.retentionMs - (now() - frame.at)) : 0;
      if (!frame || ttlMs <= 0) return;
      try {
        const ok = await o.copies.set(key(jobId), { at: frame.at, jpeg: Buffer.from(frame.data).toString('base64') } satisfies SharedValue, ttlMs);
        if (ok === false) throw new Error('the store did not take the frame');
      } catch (err) {
        o.logger.warn({ jobId, err }, 'could not copy the last frame to the shared store; only this instance can extend the video');
      }
    },

    async get(jobId, opts) {
      const here = await local.get(jobId);
      if (here || !JOB_ID.test(jobId)) return here;
      let value: unknown;
      try {
        value = await o.copies.get(key(jobId));
      } catch (err) {
        o.logger.warn({ jobId, err }, 'could not read the last frame from the shared store');
        if (opts?.strict) throw new FramesUnreachableError(jobId, err);
        return undefined;
      }
      if (!isSharedValue(value) || now() - value.at > o.retentionMs) return undefined;
      const frame = { data: Buffer.from(value.jpeg, 'base64'), at: value.at };
      await local.write(jobId, frame).catch((err: unknown) => o.logger.warn({ jobId, err }, 'could not cache the shared last frame locally'));
      return frame.data;
    },
  };
}

/** The frames of one instance: its folder, shared through `copies` when the store is shared. */
export function createFrameStore(o: { framesDir: string; retentionMs: number; logger: Logger; copies?: SharedFrameCopies }): FrameStore {
  const local = createLocalFrameStore(o);
  return o.copies ? withSharedFrameCopies(local, { copies: o.copies, retentionMs: o.retentionMs, logger: o.logger }) : local;
}
