/**
 * Discord end to end with a video over the upload limit: the emulator serves a
 * real 1080p MP4 with sound, bigger than the stand-in's 10 MiB; the bot (with
 * ffmpeg) uploads a copy under the limit, as long as the original, with a
 * caption that says it was compressed and links the original, and keeps the
 * last frame. Without ffmpeg (FFMPEG_PATH=/nonexistent) it posts the link as
 * before and says once at start why.
 */
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FFMPEG, ffprobe, haveFfmpeg, makeClip, tempDir } from '../media/media-fixtures.js';
import { STRING, createWorld, videoFor } from './bot-world.js';
import type { World } from './bot-world.js';

const MIB = 1024 * 1024;
const dir = tempDir('seedance-discord-compress-');
let big: string;
let bigBytes: Buffer;

beforeAll(() => {
  if (!haveFfmpeg) throw new Error(`ffmpeg (${FFMPEG}) is not installed; .ci/run installs it (apt-get install ffmpeg)`);
  // 10 s of 1080p at 9 Mb/s with sound: about 11.4 MB, over the 10 MiB a server without boosts takes.
  big = makeClip(join(dir, 'big.mp4'), { width: 1920, height: 1080, seconds: 10, videoBitrate: '9M' });
  bigBytes = readFileSync(big);
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs /video and waits for the progress message. */
async function video(w: World, prompt: string): Promise<string> {
  const { id } = w.discord.slashCommand({ name: 'video', options: [{ name: 'prompt', type: STRING, value: prompt }] });
  const response = await w.discord.waitFor(() => w.discord.interactionResponses.get(id));
  return response.messageId!;
}

const countLines = (out: string, text: string) => out.split('\n').filter((l) => l.includes(text)).length;

describe('a video over the upload limit, with ffmpeg', () => {
  let w: World;
  beforeAll(async () => {
    expect(bigBytes.length).toBeGreaterThan(10 * MIB);
    w = await createWorld({ videoBytes: bigBytes });
    await w.startBot();
  }, 60_000);
  afterAll(async () => {
    await w?.close();
  });

  it('is uploaded as a copy under the limit with the same length and sound, captioned with a link to the original', async () => {
    const progressId = await video(w, 'a big clip with sound');
    const vid = await w.discord.waitFor(() => videoFor(w, progressId), 90_000);
    expect(vid.attachments).toHaveLength(1);
    const file = vid.attachments[0]!;
    expect(file.size).toBeLessThanOrEqual(10 * MIB);
    expect(file.size).toBeLessThan(bigBytes.length);
    const got = join(dir, 'uploaded.mp4');
    writeFileSync(got, file.data);
    const probed = ffprobe(got);
    expect(Math.abs(probed.durationS - ffprobe(big).durationS)).toBeLessThanOrEqual(0.2);
    expect(probed.audio).toEqual({ codec: 'aac' });
    expect(probed.video?.codec).toBe('h264');
    // The caption: compressed, how big the original was, its link and when that expires.
    expect(vid.content).toContain('compressed to fit the upload limit');
    expect(vid.content).toContain(`original ${(bigBytes.length / MIB).toFixed(1)} MB`);
    expect(vid.content).toContain(`${w.emulator.aimlapiUrl}/cdn/`);
    expect(vid.content).toMatch(/expires <t:\d+:R>/);
    await w.discord.waitFor(() => w.discord.messages.get(progressId)!.content.includes('✅ Done'));
    expect(w.discord.messages.get(progressId)!.content).toContain('compressed to fit');
    // While it was re-encoding, the progress message said so.
    expect(w.discord.messages.get(progressId)!.history.map((v) => v.content).some((c) => c.includes("Compressing the video** to fit Discord's upload limit"))).toBe(true);
    // The last frame is kept (for Extend), at the original's size; the videos are gone.
    const frames = join(w.dataDir, 'frames');
    const jpg = await w.discord.waitFor(() => existsSync(frames) && readdirSync(frames).find((n) => n.endsWith('.jpg')), 30_000);
    expect(ffprobe(join(frames, jpg)).video).toMatchObject({ width: 1920, height: 1080 });
    expect(statSync(join(frames, jpg)).size).toBeGreaterThan(1000);
    await w.discord.waitFor(() => (existsSync(join(w.dataDir, 'videos')) ? readdirSync(join(w.dataDir, 'videos')).length === 0 : true));
    expect(countLines(w.output(), 'ffmpeg is not available')).toBe(0);
    expect(w.output()).toContain('re-encoded the video to fit the upload limit');
  }, 120_000);
});

describe('a video over the upload limit, without ffmpeg', () => {
  let w: World;
  beforeAll(async () => {
    w = await createWorld({ videoBytes: bigBytes });
    await w.startBot({ FFMPEG_PATH: '/nonexistent/ffmpeg' });
  }, 60_000);
  afterAll(async () => {
    await w?.close();
  });

  it('is posted as a link, as before, and the bot said once at start why', async () => {
    expect(countLines(w.output(), 'ffmpeg is not available')).toBe(1);
    expect(w.output()).toMatch(/"level":40[^\n]*ffmpeg is not available \(FFMPEG_PATH\): videos over the upload limit will be posted as links, and Extend is unavailable/);
    const progressId = await video(w, 'a big clip, no ffmpeg');
    const link = await w.discord.waitFor(
      () => [...w.discord.messages.values()].find((m) => m.messageReference?.message_id === progressId && m.content.includes('too large to attach')),
      30_000,
    );
    expect(link.attachments).toHaveLength(0);
    expect(link.content).toContain(`${w.emulator.aimlapiUrl}/cdn/`);
    expect(link.content).toMatch(/link expires <t:\d+:R>/);
    expect(existsSync(join(w.dataDir, 'frames'))).toBe(false);
    expect(countLines(w.output(), 'ffmpeg is not available')).toBe(1);
  }, 60_000);
});
