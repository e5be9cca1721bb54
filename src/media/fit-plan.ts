/**
 * How to re-encode a video so it fits a number of bytes: the bitrate left per
 * second once a margin and the sound are taken off, and a lower resolution when
 * that bitrate would be spread too thin over every pixel of every frame. Pure,
 * so the arithmetic is tested without running ffmpeg.
 */
import type { VideoInfo } from '../core/ports.js';

/** Share of the limit aimed at: MP4 overhead and the encoder's overshoot live in the rest. */
export const FIT_MARGIN = 0.92;
/** AAC bitrates: the usual, and the one used when the limit is tight. */
export const AUDIO_BPS = 96_000;
export const TIGHT_AUDIO_BPS = 64_000;
/** Below this much video per second the result would be mush: give up (the caller posts a link). */
export const MIN_VIDEO_BPS = 60_000;
/** Bits per pixel per frame below which a smaller picture looks better than a starved big one (H.264, veryfast). */
export const MIN_BITS_PER_PIXEL = 0.05;
/** Short sides to step down through, largest first. */
const SHORT_SIDES = [2160, 1440, 1080, 720, 480, 360] as const;

export interface FitPlan {
  videoBps: number;
  /** 0 when the source has no sound. */
  audioBps: number;
  /** The output picture (even sides); the source's when no scaling is needed. */
  width: number;
  height: number;
  scaled: boolean;
}

const even = (n: number) => Math.max(2, Math.round(n / 2) * 2);

/**
 * The plan for fitting `info` into `maxBytes`, or undefined if even the smallest picture can't fit.
 * `squeeze` (< 1) shrinks the budget for a second try after an encode came out too big.
 */
export function planFit(info: VideoInfo, maxBytes: number, squeeze = 1): FitPlan | undefined {
  if (!(info.durationS > 0) || !(info.width > 0) || !(info.height > 0)) return undefined;
  const totalBps = (maxBytes * 8 * FIT_MARGIN * squeeze) / info.durationS;
  const audioBps = !info.hasAudio ? 0 : totalBps >= AUDIO_BPS * 8 ? AUDIO_BPS : TIGHT_AUDIO_BPS;
  const videoBps = Math.floor(totalBps - audioBps);
  if (videoBps < MIN_VIDEO_BPS) return undefined;
  const fps = info.fps && info.fps > 0 ? info.fps : 30;
  const landscape = info.width >= info.height;
  const short = landscape ? info.height : info.width;
  const bpp = (s: number) => videoBps / ((s * s * (landscape ? info.width / info.height : info.height / info.width)) * fps);
  if (bpp(short) >= MIN_BITS_PER_PIXEL) return { videoBps, audioBps, width: info.width, height: info.height, scaled: false };
  const smaller = SHORT_SIDES.filter((s) => s < short);
  const side = smaller.find((s) => bpp(s) >= MIN_BITS_PER_PIXEL) ?? smaller.at(-1);
  if (side === undefined) return { videoBps, audioBps, width: info.width, height: info.height, scaled: false };
  const long = even((side * Math.max(info.width, info.height)) / short);
  return { videoBps, audioBps, width: landscape ? long : side, height: landscape ? side : long, scaled: true };
}

/** ffmpeg's arguments for `plan`, writing MP4 to `output` (any name: the format is given). */
export function encodeArgs(input: string, output: string, plan: FitPlan): string[] {
  const k = (bps: number) => `${Math.max(1, Math.floor(bps / 1000))}k`;
  return [
    ...['-hide_banner', '-nostdin', '-v', 'error', '-y', '-i', input],
    ...['-map', '0:v:0', '-map', '0:a:0?', '-sn', '-dn'],
    ...['-c:v', 'libx264', '-preset', 'veryfast', '-b:v', k(plan.videoBps), '-maxrate', k(plan.videoBps), '-bufsize', k(plan.videoBps * 2)],
    ...(plan.scaled ? ['-vf', `scale=${plan.width}:${plan.height}`] : []),
    '-pix_fmt',
    'yuv420p',
    ...(plan.audioBps ? ['-c:a', 'aac', '-b:a', k(plan.audioBps)] : ['-an']),
    ...['-movflags', '+faststart', '-f', 'mp4', output],
  ];
}

/** ffmpeg's arguments for the last frame of `input` as a JPEG at `output`. */
export function lastFrameArgs(input: string, output: string): string[] {
  // Decode only the final half second and keep overwriting one image: the last one written is the last frame.
  return ['-hide_banner', '-nostdin', '-v', 'error', '-y', '-sseof', '-0.5', '-i', input, '-map', '0:v:0', '-update', '1', '-q:v', '2', '-c:v', 'mjpeg', '-f', 'image2', output];
}
