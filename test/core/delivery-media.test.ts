/**
 * Delivery with real ffmpeg behind the VideoTools port: a video over the limit
 * is re-encoded to fit and uploaded with a caption that links the original; a
 * copy made before a failed attempt (or a restart) is reused; a copy that can't
 * be made means a link; the copy goes with the job's files, and the last frame
 * stays for Extend until FRAME_RETENTION_DAYS.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { processStartTime } from '../../src/core/instance.js';
import type { Logger } from '../../src/core/logger.js';
import type { ChatSurface, SurfaceMessage, VideoTools } from '../../src/core/ports.js';
import { createFfmpegTools } from '../../src/media/ffmpeg-tools.js';
import { openStore } from '../../src/store.js';
import { FFMPEG, ffprobe, haveFfmpeg, makeClip, tempDir } from '../media/media-fixtures.js';
import { harness, scriptedProvider } from './harness.js';

const dir = tempDir('seedance-delivery-media-');
let clip: string; // 640x360, 4 s, with sound, about 1.5 MB
const LIMIT = 400 * 1024;

beforeAll(() => {
  if (!haveFfmpeg) throw new Error(`ffmpeg (${FFMPEG}) is not installed; .ci/run installs it (apt-get install ffmpeg)`);
  clip = makeClip(join(dir, 'clip.mp4'), { width: 640, height: 360, seconds: 4, videoBitrate: '3M' });
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Real ffmpeg, counting how often it re-encodes. */
function countingTools(): VideoTools & { fits: number } {
  const t = createFfmpegTools({ ffmpegPath: FFMPEG, maxEncodes: 1 });
  const counted = {
    fits: 0,
    detect: () => t.detect(),
    probe: (p: string) => t.probe(p),
    lastFrame: (i: string, o: string) => t.lastFrame(i, o),
    fitToSize(i: string, o: string, opts: { maxBytes: number }) {
      counted.fits++;
      return t.fitToSize(i, o, opts);
    },
  };
  return counted;
}

/** What each upload carried: the message, and the file as ffprobe and `stat` saw it at that moment. */
function probeUploads(surface: ChatSurface) {
  const seen: { message: SurfaceMessage; bytes: number; durationS: number; audio: boolean }[] = [];
  const upload = surface.upload.bind(surface);
  surface.upload = async (conversation, file, message, opts) => {
    const p = ffprobe(file.path);
    seen.push({ message, bytes: statSync(file.path).size, durationS: p.durationS, audio: p.audio !== undefined });
    return upload(conversation, file, message, opts);
  };
  return seen;
}

/** Lets the manual clock and real child processes both move until `pred` holds (up to 60 s of real time). */
async function until(h: { clock: ManualClock }, pred: () => boolean | Promise<boolean>) {
  const end = Date.now() + 60_000;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error('condition not reached');
    await h.clock.advance(200);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const ls = (workDir: string, sub: string) => (existsSync(join(workDir, sub)) ? readdirSync(join(workDir, sub)) : []);

function collectingLogger() {
  const lines: string[] = [];
  const logger: Logger = {
    debug() {},
    info: (_o, m) => void lines.push(`info ${m}`),
    warn: (_o, m) => void lines.push(`warn ${m}`),
    error: (_o, m) => void lines.push(`error ${m}`),
    child: () => logger,
  };
  return { lines, logger };
}

describe('delivery of a video over the upload limit, with ffmpeg', () => {
  it("doesn't hold a delivery slot while it waits for the encoder: a small video is delivered meanwhile", async () => {
    // Real ffmpeg, but the re-encode waits for the test's go-ahead: a long encode, made visible.
    const real = createFfmpegTools({ ffmpegPath: FFMPEG, maxEncodes: 1 });
    let go!: () => void;
    const gate = new Promise<void>((r) => (go = r));
    let fitsStarted = 0;
    const tools: VideoTools = {
      detect: () => real.detect(),
      probe: (p) => real.probe(p),
      lastFrame: (i, o) => real.lastFrame(i, o),
      async fitToSize(i, o, opts) {
        fitsStarted++;
        await gate;
        return real.fitToSize(i, o, opts);
      },
    };
    const h = await harness({ videoFile: clip, videoTools: tools, config: { deliveryConcurrency: 1 } });
    await h.service.start();
    // The first goes to a conversation with a small limit (it needs re-encoding), the second fits as it is.
    const big = await h.service.submit({ input: { prompt: 'over the limit' }, surface: h.surf.surface.kind, conversation: 'test:chan1', requester: { id: 'u1' }, meta: { uploadLimit: String(LIMIT) } });
    await until(h, () => fitsStarted === 1);
    const small = await h.service.submit({ input: { prompt: 'fits' }, surface: h.surf.surface.kind, conversation: 'test:chan2', requester: { id: 'u2' } });
    await until(h, () => h.finished.includes(`${small.job.id}:delivered`));
    expect(h.finished).toEqual([`${small.job.id}:delivered`]);
    go();
    await until(h, () => h.finished.length === 2);
    expect(h.finished).toEqual([`${small.job.id}:delivered`, `${big.job.id}:delivered`]);
    expect((await h.store.get(big.job.id))?.result?.deliveredAs).toBe('compressed');
    await h.service.stop({ graceMs: 10_000 });
  }, 60_000);

  it('uploads a copy under the limit with the same length and sound, links the original, and keeps the last frame', async () => {
    const tools = countingTools();
    const h = await harness({ surface: { limit: LIMIT }, videoFile: clip, videoTools: tools });
    const uploads = probeUploads(h.surf.surface);
    await h.service.start();
    const { job } = await h.submit();
    await until(h, () => h.finished.length > 0);
    expect(h.finished).toEqual([`${job.id}:delivered`]);
    expect(uploads).toHaveLength(1);
    const up = uploads[0]!;
    expect(up.bytes).toBeLessThanOrEqual(LIMIT);
    expect(Math.abs(up.durationS - ffprobe(clip).durationS)).toBeLessThanOrEqual(0.2);
    expect(up.audio).toBe(true);
    const original = statSync(clip).size;
    const stored = await h.store.get(job.id);
    expect(up.message).toMatchObject({
      kind: 'video',
      bytes: up.bytes,
      compressed: { originalBytes: original, url: 'https://cdn.test/gen-1.mp4', expiresAt: (stored!.result!.video as { expiresAt: number }).expiresAt },
    });
    expect(stored).toMatchObject({ status: 'delivered', result: { deliveredAs: 'compressed', bytes: original } });
    expect(h.surf.log.at(-1)).toMatchObject({ op: 'edit', message: { kind: 'done', deliveredAs: 'compressed' } });
    expect(tools.fits).toBe(1);
    // The original and its copy went with the job; the last frame stays.
    expect(ls(h.config.workDir, 'videos')).toEqual([]);
    // The grab runs just after the delivery; the caller can wait for it.
    const frame = (await h.service.lastFrame(job.id, { waitMs: 30_000 }))!;
    expect([...frame.subarray(0, 2)]).toEqual([0xff, 0xd8]);
    expect(ffprobe(join(h.config.workDir, 'frames', `${job.id}.jpg`)).video).toMatchObject({ width: 640, height: 360 });
    await until(h, () => ls(h.config.workDir, 'frames').length === 1);
    expect(ls(h.config.workDir, 'frames')).toEqual([`${job.id}.jpg`]);
    await h.service.stop({ graceMs: 0 });
  }, 60_000);

  it('keeps the last frame of a video that fit as it was, and none when FRAME_RETENTION_DAYS is 0', async () => {
    for (const frameRetentionMs of [7 * 86_400_000, 0]) {
      const h = await harness({ videoFile: clip, videoTools: countingTools(), config: { frameRetentionMs } });
      await h.service.start();
      const { job } = await h.submit();
      await until(h, () => h.finished.length > 0);
      expect(h.surf.uploads()[0]!.message).not.toHaveProperty('compressed');
      await h.service.stop({ graceMs: 10_000 }); // waits for the frame grab
      expect(ls(h.config.workDir, 'frames')).toEqual(frameRetentionMs ? [`${job.id}.jpg`] : []);
    }
  }, 60_000);

  it('compresses to half the size when the platform refuses the file as too large', async () => {
    const original = statSync(clip).size;
    const h = await harness({ surface: { limit: 10 * 1024 * 1024, platformLimit: original - 1 }, videoFile: clip, videoTools: countingTools() });
    const uploads = probeUploads(h.surf.surface);
    await h.service.start();
    const { job } = await h.submit();
    await until(h, () => h.finished.length > 0);
    expect(uploads.map((u) => u.bytes)).toEqual([original, expect.any(Number)]);
    expect(uploads[1]!.bytes).toBeLessThanOrEqual(original / 2);
    expect((await h.store.get(job.id))?.result?.deliveredAs).toBe('compressed');
    await h.service.stop({ graceMs: 10_000 });
  }, 60_000);

  it('reuses the copy made before a failed upload, also after a restart, and deletes it with the job', async () => {
    const shared = await openStore('memory:', '');
    const clock = new ManualClock();
    const prov = scriptedProvider(clock);
    const A = { id: 'A', host: 'h/pid:[1]', pid: 2 ** 22 + 98, started: '1' };
    const ta = countingTools();
    const a = await harness({ store: shared, clock, prov, identity: A, surface: { limit: LIMIT }, videoFile: clip, videoTools: ta });
    a.surf.surface.upload = async () => {
      throw new Error('503 Service Unavailable');
    };
    await a.service.start();
    const { job } = await a.submit();
    await until(a, async () => ((await shared.jobs.get(job.id))?.attempts.delivery ?? 0) >= 3);
    expect(ta.fits).toBe(1); // the second attempt found the copy
    await a.service.stop({ graceMs: 0 });
    expect(ls(a.config.workDir, 'videos').sort()).toEqual([`${job.id}.mp4`, `${job.id}.mp4.fit-${LIMIT}.mp4`]);

    const tb = countingTools();
    const b = await harness({ store: shared, clock, prov, identity: { id: 'B', host: 'h/pid:[1]', pid: process.pid, started: processStartTime(process.pid)! }, config: { workDir: a.config.workDir }, surface: { limit: LIMIT }, videoFile: clip, videoTools: tb });
    const uploads = probeUploads(b.surf.surface);
    await b.service.start();
    await until(b, () => b.finished.length > 0);
    expect(b.finished).toEqual([`${job.id}:delivered`]);
    expect(tb.fits).toBe(0);
    expect(uploads).toHaveLength(1);
    expect(uploads[0]!.bytes).toBeLessThanOrEqual(LIMIT);
    expect(ls(a.config.workDir, 'videos')).toEqual([]);
    await b.service.stop({ graceMs: 10_000 });
  }, 60_000);

  it('posts the link as before when the video can not be re-encoded, saying so once in the log', async () => {
    const junk = join(dir, 'junk.mp4');
    writeFileSync(junk, Buffer.alloc(LIMIT * 2, 3));
    const { lines, logger } = collectingLogger();
    const h = await harness({ surface: { limit: LIMIT }, videoFile: junk, videoTools: countingTools(), logger });
    await h.service.start();
    const { job } = await h.submit();
    await until(h, () => h.finished.length > 0);
    expect(h.surf.uploads()).toHaveLength(0);
    expect(h.surf.log.find((r) => r.message.kind === 'link')).toMatchObject({ op: 'post', message: { kind: 'link', url: 'https://cdn.test/gen-1.mp4', bytes: LIMIT * 2, limitBytes: LIMIT } });
    expect((await h.store.get(job.id))?.result?.deliveredAs).toBe('link');
    expect(lines.filter((l) => l.includes('could not re-encode'))).toHaveLength(1);
    await h.service.stop({ graceMs: 10_000 });
    expect(ls(h.config.workDir, 'videos')).toEqual([]);
    expect(ls(h.config.workDir, 'frames')).toEqual([]); // the grab failed (logged); its link to the video is gone
  }, 60_000);
});

describe('kept frames', () => {
  it('are dropped after FRAME_RETENTION_DAYS by the sweep at start, and not handed out once too old', async () => {
    const h = await harness({ config: { frameRetentionMs: 86_400_000 } });
    const frames = join(h.config.workDir, 'frames');
    mkdirSync(frames, { recursive: true });
    const fresh = '11111111-1111-4111-8111-111111111111';
    const old = '22222222-2222-4222-8222-222222222222';
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0]);
    writeFileSync(join(frames, `${fresh}.jpg`), jpeg);
    writeFileSync(join(frames, `${old}.jpg`), jpeg);
    const twoDaysAgo = (Date.now() - 2 * 86_400_000) / 1000;
    utimesSync(join(frames, `${old}.jpg`), twoDaysAgo, twoDaysAgo);
    expect(await h.service.lastFrame(old)).toBeUndefined();
    expect(await h.service.lastFrame('../../etc/passwd')).toBeUndefined();
    await h.service.start();
    expect(readdirSync(frames)).toEqual([`${fresh}.jpg`]);
    expect(Buffer.from((await h.service.lastFrame(fresh))!)).toEqual(jpeg);
    await h.service.stop({ graceMs: 0 });
  });
});
