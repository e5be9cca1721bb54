/**
 * The VideoTools port over ffmpeg and ffprobe, run as child processes. Encodes
 * and frame grabs wait for one of MAX_ENCODES slots (two encodes at once on a
 * small machine would only make both slow); probes don't. Every output is
 * written to a temporary name next to it and renamed when complete.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm, stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { z } from 'zod';
import type { FittedVideo, VideoInfo, VideoTools } from '../core/ports.js';
import { VideoToolsStoppedError } from '../core/ports.js';
import { createLimiter } from '../core/submit-step.js';
import { encodeArgs, lastFrameArgs, planFit } from './fit-plan.js';
import { ChildProcessError, runChild } from './run-child.js';

export interface FfmpegToolsOptions {
  /** FFMPEG_PATH: a name looked up on PATH, or a path. */
  ffmpegPath: string;
  /** Default: next to ffmpeg, with `ffmpeg` in its name replaced (see `ffprobePathFor`). */
  ffprobePath?: string;
  /** MAX_ENCODES: encodes and frame grabs at once. */
  maxEncodes: number;
  /** Longest probe or version check (default 30 s). */
  probeTimeoutMs?: number;
  /** Longest frame grab (default 60 s). */
  frameTimeoutMs?: number;
  /** Longest encode of a clip this long (default a minute plus 20 s per second of video). */
  encodeTimeoutMs?: (durationS: number) => number;
}

/** ffmpeg's own tools and statistics, beyond the port. */
export interface FfmpegTools extends VideoTools {
  /** Why `detect()` said no (one line for the start-up log), once it has. */
  readonly problem: string | undefined;
  /** Child processes holding an encode slot right now, and the most there ever were at once. */
  stats(): { running: number; peak: number };
  /** Kills what runs and refuses what waits (VideoToolsStoppedError). */
  close(): void;
}

/** ffprobe beside ffmpeg: `/usr/bin/ffmpeg` → `/usr/bin/ffprobe`, `ffmpeg` → `ffprobe`, `ffmpeg-6` → `ffprobe-6`. */
export function ffprobePathFor(ffmpegPath: string): string {
  const name = basename(ffmpegPath);
  const probe = /ffmpeg/i.test(name) ? name.replace(/ffmpeg/i, 'ffprobe') : 'ffprobe';
  return ffmpegPath.slice(0, ffmpegPath.length - name.length) + probe;
}

const probeSchema = z.object({
  streams: z
    .array(
      z.object({
        codec_type: z.string().optional(),
        width: z.number().optional(),
        height: z.number().optional(),
        avg_frame_rate: z.string().optional(),
        r_frame_rate: z.string().optional(),
        duration: z.string().optional(),
      }),
    )
    .default([]),
  format: z.object({ duration: z.string().optional() }).default({}),
});

const rate = (r: string | undefined) => {
  const [n, d] = (r ?? '').split('/').map(Number);
  return n && d ? n / d : undefined;
};

/** A temporary name beside `path`, unique to this call. */
const tempBeside = (path: string) => `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;

export function createFfmpegTools(o: FfmpegToolsOptions): FfmpegTools {
  const ffmpeg = o.ffmpegPath;
  const ffprobe = o.ffprobePath ?? ffprobePathFor(ffmpeg);
  const probeTimeoutMs = o.probeTimeoutMs ?? 30_000;
  const frameTimeoutMs = o.frameTimeoutMs ?? 60_000;
  const encodeTimeoutMs = o.encodeTimeoutMs ?? ((d: number) => 60_000 + d * 20_000);
  const slots = createLimiter(Math.max(1, o.maxEncodes));
  const stop = new AbortController();
  let problem: string | undefined;
  let running = 0;
  let peak = 0;
  const counted = {
    onStart: () => {
      running++;
      peak = Math.max(peak, running);
    },
    onExit: () => void running--,
  };

  /** Runs `fn` in an encode slot, unless closed by the time its turn comes. */
  const inSlot = <T>(fn: () => Promise<T>): Promise<T> =>
    slots(async () => {
      if (stop.signal.aborted) throw new VideoToolsStoppedError();
      try {
        return await fn();
      } catch (err) {
        if (err instanceof ChildProcessError && err.reason === 'aborted') throw new VideoToolsStoppedError();
        throw err;
      }
    });

  async function probe(path: string, slot = false): Promise<VideoInfo> {
    const args = ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', resolve(path)];
    const { stdout } = await runChild(ffprobe, args, { timeoutMs: probeTimeoutMs, signal: stop.signal, ...(slot ? counted : {}) });
    let parsed: z.infer<typeof probeSchema>;
    try {
      parsed = probeSchema.parse(JSON.parse(stdout));
    } catch {
      throw new Error(`ffprobe: unreadable answer for ${basename(path)}`);
    }
    const video = parsed.streams.find((s) => s.codec_type === 'video');
    if (!video?.width || !video.height) throw new Error(`${basename(path)} has no video stream`);
    const durationS = Number(parsed.format.duration ?? video.duration);
    if (!(durationS > 0)) throw new Error(`${basename(path)} has no duration`);
    const fps = rate(video.avg_frame_rate) ?? rate(video.r_frame_rate);
    return { durationS, width: video.width, height: video.height, hasAudio: parsed.streams.some((s) => s.codec_type === 'audio'), ...(fps ? { fps } : {}) };
  }

  /** One encode into a temporary file; its size, or undefined (and nothing left) if it is over `maxBytes`. */
  async function encodeOnce(input: string, output: string, info: VideoInfo, maxBytes: number, squeeze: number): Promise<{ bytes: number; fits: boolean }> {
    const plan = planFit(info, maxBytes, squeeze);
    if (!plan) throw new Error(`a ${Math.round(info.durationS)} s video can't be made to fit ${maxBytes} bytes`);
    const tmp = tempBeside(output);
    try {
      await runChild(ffmpeg, encodeArgs(resolve(input), tmp, plan), { timeoutMs: encodeTimeoutMs(info.durationS), signal: stop.signal, ...counted });
      const bytes = (await stat(tmp)).size;
      if (bytes > maxBytes || bytes === 0) return { bytes, fits: false };
      await rename(tmp, output);
      return { bytes, fits: true };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  return {
    get problem() {
      return problem;
    },
    stats: () => ({ running, peak }),
    close: () => stop.abort(),

    async detect() {
      for (const [name, path] of [['ffmpeg', ffmpeg], ['ffprobe', ffprobe]] as const) {
        try {
          await runChild(path, ['-version'], { timeoutMs: probeTimeoutMs, maxStdout: 4096 });
        } catch (err) {
          problem = `${name} (${path}) can't be run: ${(err as Error).message}`;
          return false;
        }
      }
      problem = undefined;
      return true;
    },

    probe: (path) => probe(path),

    fitToSize: (input, output, { maxBytes }) =>
      inSlot(async (): Promise<FittedVideo> => {
        const info = await probe(input, true);
        let squeeze = 1;
        for (let attempt = 1; ; attempt++) {
          const got = await encodeOnce(input, output, info, maxBytes, squeeze);
          if (got.fits) {
            const out = await probe(output, true);
            return { bytes: got.bytes, durationS: out.durationS, width: out.width, height: out.height };
          }
          if (attempt === 2) throw new Error(`re-encoded twice, still ${got.bytes} bytes (over ${maxBytes})`);
          // The encoder overshot: aim lower by as much as it went over, and a little more.
          squeeze *= (maxBytes / Math.max(got.bytes, 1)) * 0.9;
        }
      }),

    lastFrame: (input, outputJpeg) =>
      inSlot(async () => {
        const tmp = tempBeside(outputJpeg);
        try {
          await runChild(ffmpeg, lastFrameArgs(resolve(input), tmp), { timeoutMs: frameTimeoutMs, signal: stop.signal, ...counted });
          const bytes = (await stat(tmp).catch(() => undefined))?.size ?? 0;
          if (!bytes) throw new Error(`ffmpeg wrote no frame for ${basename(input)}`);
          await rename(tmp, outputJpeg);
          return { bytes };
        } finally {
          await rm(tmp, { force: true });
        }
      }),
  };
}
