/**
 * Real MP4s for the media tests, made with ffmpeg at test time (fast x264
 * settings; only their length, size, sound and picture matter), and ffprobe
 * read-backs of what the tools wrote.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';
export const FFPROBE = FFMPEG.replace(/ffmpeg([^/]*)$/, 'ffprobe$1');

/** Whether ffmpeg runs here (the tests need it; .ci/run installs it). */
export const haveFfmpeg = spawnSync(FFMPEG, ['-version']).status === 0;

export const tempDir = (prefix = 'seedance-media-') => mkdtempSync(join(tmpdir(), prefix));

/**
 * A test-pattern clip, `seconds` long at `width`x`height` and 24 fps, with a 440 Hz tone unless
 * `audio` is false, encoded at `videoBitrate` so its size is predictable.
 */
export function makeClip(path: string, o: { width: number; height: number; seconds: number; videoBitrate: string; audio?: boolean }): string {
  const audio = o.audio ?? true;
  execFileSync(FFMPEG, [
    ...['-hide_banner', '-v', 'error', '-y'],
    ...['-f', 'lavfi', '-i', `testsrc2=size=${o.width}x${o.height}:rate=24`],
    ...(audio ? ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100'] : []),
    ...['-t', String(o.seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '48', '-b:v', o.videoBitrate, '-minrate', o.videoBitrate, '-maxrate', o.videoBitrate, '-bufsize', o.videoBitrate, '-pix_fmt', 'yuv420p'],
    ...(audio ? ['-c:a', 'aac', '-b:a', '128k'] : []),
    path,
  ]);
  return path;
}

/** A clip that is red and ends on blue frames: its last frame is blue, every other colour is red. */
export function makeRedThenBlue(path: string): string {
  execFileSync(FFMPEG, [
    ...['-hide_banner', '-v', 'error', '-y'],
    ...['-f', 'lavfi', '-i', 'color=c=red:s=320x240:r=24:d=1.5', '-f', 'lavfi', '-i', 'color=c=blue:s=320x240:r=24:d=0.25'],
    ...['-filter_complex', '[0:v][1:v]concat=n=2:v=1[v]', '-map', '[v]', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', path],
  ]);
  return path;
}

export interface Probed {
  durationS: number;
  video?: { codec: string; width: number; height: number };
  audio?: { codec: string };
}

/** What ffprobe says a file holds (independent of the code under test). */
export function ffprobe(path: string): Probed {
  const out = execFileSync(FFPROBE, ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', path], { encoding: 'utf8' });
  const j = JSON.parse(out) as { format: { duration?: string }; streams: { codec_type: string; codec_name: string; width?: number; height?: number }[] };
  const v = j.streams.find((s) => s.codec_type === 'video');
  const a = j.streams.find((s) => s.codec_type === 'audio');
  return {
    durationS: Number(j.format.duration ?? 0),
    ...(v ? { video: { codec: v.codec_name, width: v.width!, height: v.height! } } : {}),
    ...(a ? { audio: { codec: a.codec_name } } : {}),
  };
}

/** The average colour of an image or video frame, as [r, g, b]. */
export function averageColour(path: string): [number, number, number] {
  const raw = execFileSync(FFMPEG, ['-hide_banner', '-v', 'error', '-i', path, '-frames:v', '1', '-vf', 'scale=1:1:flags=area', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-']);
  return [raw[0]!, raw[1]!, raw[2]!];
}
