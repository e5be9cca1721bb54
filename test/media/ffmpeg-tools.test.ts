/**
 * The ffmpeg VideoTools on real files: probing, re-encoding to fit a size
 * (length and sound kept, a smaller picture when the limit is tight), the last
 * frame, a missing binary, a corrupt input, timeouts, shutting down, and the
 * bound on encodes at once (counted from the child processes themselves).
 */
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VideoToolsStoppedError } from '../../src/core/ports.js';
import { createFfmpegTools, ffprobePathFor } from '../../src/media/ffmpeg-tools.js';
import { ChildProcessError, runChild } from '../../src/media/run-child.js';
import { FFMPEG, averageColour, ffprobe, haveFfmpeg, makeClip, makeRedThenBlue, tempDir } from './media-fixtures.js';

const MIB = 1024 * 1024;
const dir = tempDir();
let clip: string; // 1280x720, 6 s, with sound, about 4.6 MB
let small: string; // 320x240, 2 s, with sound
let silent: string; // 640x360, 3 s, no sound

beforeAll(() => {
  if (!haveFfmpeg) throw new Error(`ffmpeg (${FFMPEG}) is not installed; .ci/run installs it (apt-get install ffmpeg)`);
  clip = makeClip(join(dir, 'clip.mp4'), { width: 1280, height: 720, seconds: 6, videoBitrate: '6M' });
  small = makeClip(join(dir, 'small.mp4'), { width: 320, height: 240, seconds: 2, videoBitrate: '2M' });
  silent = makeClip(join(dir, 'silent.mp4'), { width: 640, height: 360, seconds: 3, videoBitrate: '3M', audio: false });
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tools = (over: Partial<Parameters<typeof createFfmpegTools>[0]> = {}) => createFfmpegTools({ ffmpegPath: FFMPEG, maxEncodes: 1, ...over });
/** Files in `dir` whose names start with `prefix` (temporary files must not be left behind). */
const leftovers = (prefix: string) => readdirSync(dir).filter((n) => n.startsWith(prefix) && n.includes('.tmp-'));

describe('ffmpeg tools', () => {
  it('finds ffmpeg and ffprobe', async () => {
    const t = tools();
    expect(await t.detect()).toBe(true);
    expect(t.problem).toBeUndefined();
  });

  it('derives ffprobe from FFMPEG_PATH', () => {
    expect(ffprobePathFor('ffmpeg')).toBe('ffprobe');
    expect(ffprobePathFor('/usr/bin/ffmpeg')).toBe('/usr/bin/ffprobe');
    expect(ffprobePathFor('./bin/ffmpeg-6.1')).toBe('./bin/ffprobe-6.1');
    expect(ffprobePathFor('/opt/media/encoder')).toBe('/opt/media/ffprobe');
  });

  it('says no, with the reason, when ffmpeg is not there', async () => {
    const t = tools({ ffmpegPath: '/nonexistent/ffmpeg' });
    expect(await t.detect()).toBe(false);
    expect(t.problem).toContain('/nonexistent/ffmpeg');
    expect(t.problem).toContain('not found');
  });

  it('probes length, size and sound', async () => {
    const t = tools();
    const info = await t.probe(clip);
    expect(info).toMatchObject({ width: 1280, height: 720, hasAudio: true, fps: 24 });
    expect(info.durationS).toBeCloseTo(6, 1);
    expect(await t.probe(silent)).toMatchObject({ width: 640, height: 360, hasAudio: false });
  });

  it('re-encodes a clip to fit under the limit, keeping its length, its sound and its picture size', async () => {
    const t = tools();
    const before = statSync(clip).size;
    const maxBytes = 1.5 * MIB;
    expect(before).toBeGreaterThan(2 * maxBytes);
    const out = join(dir, 'clip.fit.mp4');
    const got = await t.fitToSize(clip, out, { maxBytes });
    const size = statSync(out).size;
    expect(size).toBe(got.bytes);
    expect(size).toBeLessThanOrEqual(maxBytes);
    // Not needlessly small either: most of the budget is used.
    expect(size).toBeGreaterThan(maxBytes * 0.5);
    const probed = ffprobe(out);
    expect(Math.abs(probed.durationS - ffprobe(clip).durationS)).toBeLessThanOrEqual(0.2);
    expect(probed.video).toEqual({ codec: 'h264', width: 1280, height: 720 });
    expect(probed.audio).toEqual({ codec: 'aac' });
    expect(got).toMatchObject({ width: 1280, height: 720 });
    expect(leftovers('clip.fit.mp4')).toEqual([]);
  }, 60_000);

  it('lowers the resolution when the limit is tight, and still keeps the length and the sound', async () => {
    const t = tools();
    const maxBytes = 400 * 1024;
    const out = join(dir, 'clip.tight.mp4');
    const got = await t.fitToSize(clip, out, { maxBytes });
    const probed = ffprobe(out);
    expect(statSync(out).size).toBeLessThanOrEqual(maxBytes);
    expect(probed.video!.height).toBeLessThan(720);
    expect(probed.video!.width / probed.video!.height).toBeCloseTo(16 / 9, 1);
    expect(probed.video!.width % 2).toBe(0);
    expect(got.height).toBe(probed.video!.height);
    expect(Math.abs(probed.durationS - 6)).toBeLessThanOrEqual(0.2);
    expect(probed.audio).toEqual({ codec: 'aac' });
  }, 60_000);

  it('keeps a silent clip silent', async () => {
    const out = join(dir, 'silent.fit.mp4');
    await tools().fitToSize(silent, out, { maxBytes: 300 * 1024 });
    const probed = ffprobe(out);
    expect(probed.audio).toBeUndefined();
    expect(statSync(out).size).toBeLessThanOrEqual(300 * 1024);
    expect(Math.abs(probed.durationS - 3)).toBeLessThanOrEqual(0.2);
  }, 60_000);

  it('refuses a limit nothing watchable fits in, and leaves nothing behind', async () => {
    const out = join(dir, 'clip.tiny.mp4');
    await expect(tools().fitToSize(clip, out, { maxBytes: 20 * 1024 })).rejects.toThrow(/can't be made to fit/);
    expect(existsSync(out)).toBe(false);
    expect(leftovers('clip.tiny.mp4')).toEqual([]);
  });

  it('writes the last frame as a JPEG at the video size', async () => {
    const video = makeRedThenBlue(join(dir, 'red-blue.mp4'));
    const out = join(dir, 'red-blue.jpg');
    const got = await tools().lastFrame(video, out);
    const jpeg = readFileSync(out);
    expect(got.bytes).toBe(jpeg.length);
    expect([...jpeg.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    expect(ffprobe(out).video).toEqual({ codec: 'mjpeg', width: 320, height: 240 });
    // The clip is red until its last quarter second: a blue picture is from its end.
    const [r, g, b] = averageColour(out);
    expect(b).toBeGreaterThan(200);
    expect(r).toBeLessThan(60);
    expect(g).toBeLessThan(60);
    expect(leftovers('red-blue.jpg')).toEqual([]);
  });

  it('fails cleanly on a corrupt or truncated input (an error, no crash, nothing left)', async () => {
    const t = tools();
    const junk = join(dir, 'junk.mp4');
    writeFileSync(junk, Buffer.from('this is not a video at all, just some bytes'.repeat(100)));
    const truncated = join(dir, 'truncated.mp4');
    writeFileSync(truncated, readFileSync(clip).subarray(0, 200_000));
    for (const input of [junk, truncated, join(dir, 'missing.mp4')]) {
      await expect(t.probe(input)).rejects.toThrow();
      await expect(t.fitToSize(input, `${input}.fit.mp4`, { maxBytes: MIB })).rejects.toThrow(Error);
      await expect(t.lastFrame(input, `${input}.jpg`)).rejects.toThrow(Error);
      expect(existsSync(`${input}.fit.mp4`)).toBe(false);
      expect(existsSync(`${input}.jpg`)).toBe(false);
    }
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
    // The tools still work afterwards.
    expect((await t.probe(small)).width).toBe(320);
  });

  it('never runs more encodes at once than MAX_ENCODES, and does use them all', async () => {
    for (const max of [1, 2]) {
      const t = tools({ maxEncodes: max });
      const jobs = Array.from({ length: 4 }, (_, i) => t.fitToSize(small, join(dir, `small-${max}-${i}.mp4`), { maxBytes: 120 * 1024 }));
      const frames = Array.from({ length: 2 }, (_, i) => t.lastFrame(small, join(dir, `small-${max}-${i}.jpg`)));
      const seen: number[] = [];
      const watch = setInterval(() => seen.push(t.stats().running), 5);
      await Promise.all([...jobs, ...frames]);
      clearInterval(watch);
      expect(t.stats().peak).toBe(max);
      expect(Math.max(...seen)).toBeLessThanOrEqual(max);
      expect(t.stats().running).toBe(0);
    }
  }, 60_000);

  it('kills a program that outlives its timeout', async () => {
    const started = Date.now();
    const run = runChild(FFMPEG, ['-hide_banner', '-v', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=24', '-f', 'null', '-'], { timeoutMs: 300 });
    const err = await run.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChildProcessError);
    expect((err as ChildProcessError).reason).toBe('timeout');
    // Settled because the process is gone (well before its endless input would end).
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('stops encodes under way and refuses waiting ones when closed', async () => {
    const t = tools({ maxEncodes: 1 });
    const running = t.fitToSize(clip, join(dir, 'closed-1.mp4'), { maxBytes: MIB });
    const waiting = t.lastFrame(clip, join(dir, 'closed-2.jpg'));
    await new Promise((r) => setTimeout(r, 200));
    t.close();
    await expect(running).rejects.toBeInstanceOf(VideoToolsStoppedError);
    await expect(waiting).rejects.toBeInstanceOf(VideoToolsStoppedError);
    expect(existsSync(join(dir, 'closed-1.mp4'))).toBe(false);
    expect(leftovers('closed-')).toEqual([]);
  });
});
