/**
 * Last frames shared through a real Redis: instances with their own DATA_DIR
 * and their own connection, frames grabbed by the real ffmpeg through the
 * delivery media. A frame kept by one is read by another (and cached in its
 * folder, dated when it was grabbed), also when a taken-over job submits it;
 * the shared copy expires with FRAME_RETENTION_DAYS (a few seconds here); and a
 * Redis that stops answering while the copy is written costs only the copy.
 */
import { randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCatalogue } from '../../src/core/catalogue.js';
import { ManualClock } from '../../src/core/clock.js';
import { createDeliveryMedia } from '../../src/core/delivery-media.js';
import { createJobFiles } from '../../src/core/job-files.js';
import { createJobService } from '../../src/core/job-service.js';
import type { Logger } from '../../src/core/logger.js';
import { createRequestValidator } from '../../src/core/request.js';
import { createFfmpegTools } from '../../src/media/ffmpeg-tools.js';
import { BUILTIN_MODELS } from '../../src/providers/index.js';
import type { Store } from '../../src/store.js';
import { openStore } from '../../src/store.js';
import type { RedisServer } from '../helpers/redis.js';
import { startRedis } from '../helpers/redis.js';
import { FFMPEG, haveFfmpeg, tempDir } from '../media/media-fixtures.js';
import { baseConfig, fakeFetcher, recordingSurface, scriptedProvider } from './harness.js';
import { until } from '../helpers/until.js';

/** 640x360, blue turning red. */
const FIXTURE = new URL('../fixtures/blue-red-640x360.mp4', import.meta.url).pathname;
const DAY_MS = 86_400_000;
const tools = createFfmpegTools({ ffmpegPath: FFMPEG, maxEncodes: 2 });
let redis: RedisServer;
const dirs: string[] = [];
const stores: Store[] = [];
let seq = 0;

beforeAll(async () => {
  if (!haveFfmpeg) throw new Error(`ffmpeg (${FFMPEG}) is not installed; .ci/run installs it (apt-get install ffmpeg)`);
  redis = await startRedis();
}, 30_000);
afterAll(async () => {
  for (const s of stores) await s.close().catch(() => undefined);
  tools.close();
  await redis?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function collectingLogger() {
  const warnings: string[] = [];
  const logger: Logger = { debug() {}, info() {}, warn: (_o, m) => void warnings.push(String(m)), error: (_o, m) => void warnings.push(String(m)), child: () => logger };
  return { warnings, logger };
}

async function redisStore(prefix: string, workDir: string, commandTimeoutMs = 2000): Promise<Store> {
  const store = await openStore(redis.url({ prefix }), workDir, { commandTimeoutMs });
  stores.push(store);
  return store;
}

/** One instance: its own DATA_DIR and its own connection to the shared Redis (keys under `prefix`). */
async function instance(prefix: string, o: { retentionMs?: number; commandTimeoutMs?: number } = {}) {
  const workDir = tempDir('seedance-frames-');
  dirs.push(workDir);
  const store = await redisStore(prefix, workDir, o.commandTimeoutMs);
  const { warnings, logger } = collectingLogger();
  const files = createJobFiles({ workDir, videosCapBytes: 2 ** 30, logger, frameRetentionMs: o.retentionMs ?? DAY_MS, sharedFrames: store.kv });
  const media = createDeliveryMedia({ tools, files, logger, keepFrames: true });
  return { workDir, files, media, warnings, framePath: (jobId: string) => join(workDir, 'frames', `${jobId}.jpg`) };
}
type Instance = Awaited<ReturnType<typeof instance>>;

/** What a delivery does with a video it posted: keeps its last frame (grabbed by ffmpeg, then copied). */
async function deliverFrame(inst: Instance, jobId: string): Promise<Buffer> {
  const video = join(inst.workDir, 'videos', `${jobId}.mp4`);
  mkdirSync(join(inst.workDir, 'videos'), { recursive: true });
  copyFileSync(FIXTURE, video);
  await inst.media.keepLastFrame(jobId, video);
  await inst.media.grabbing(jobId);
  rmSync(video);
  return readFileSync(inst.framePath(jobId));
}

const answer = (raw: string) => Number(/^:(-?\d+)\r\n$/.exec(raw)?.[1]);

/**
 * The job service as the bot builds it, with its jobs in memory and its frames copied to a Redis
 * under `prefix` over a connection of its own (300 ms command timeout).
 */
async function serviceSharingFrames(prefix: string, o: { videoTools?: boolean } = {}) {
  const config = baseConfig();
  dirs.push(config.workDir);
  const shared = await redisStore(prefix, config.workDir, 300);
  const { warnings, logger } = collectingLogger();
  const clock = new ManualClock();
  const prov = scriptedProvider(clock);
  const surf = recordingSurface(clock);
  const catalogue = createCatalogue(BUILTIN_MODELS, { providers: ['aimlapi'] });
  const service = createJobService({
    store: (await openStore('memory:', '')).jobs,
    providers: { aimlapi: prov.provider },
    catalogue,
    validator: createRequestValidator(catalogue, { model: 'lite', resolution: '720p', duration: 5 }, () => 0.25),
    surfaces: [surf.surface],
    fetcher: fakeFetcher(0, FIXTURE).fetcher,
    clock,
    logger,
    config,
    ...(o.videoTools ? { videoTools: tools } : {}),
    sharedFrames: shared.kv,
  });
  return { service, clock, prov, surf, warnings, workDir: config.workDir };
}

describe('last frames on a shared Redis', () => {
  it('a frame kept by one instance is read by another, byte for byte, and cached in its own folder, dated when it was grabbed', async () => {
    const prefix = `frames-${++seq}`;
    const [a, b, c] = [await instance(prefix), await instance(prefix), await instance(prefix)];
    const jobId = randomUUID();
    const kept = await deliverFrame(a, jobId);
    expect([...kept.subarray(0, 2)]).toEqual([0xff, 0xd8]);
    // In Redis under keyv's namespace, expiring with FRAME_RETENTION_DAYS.
    const ttl = answer(await redis.command('PTTL', `${prefix}::frame:${jobId}`));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(DAY_MS);

    expect(existsSync(b.framePath(jobId))).toBe(false);
    const got = await b.files.frame(jobId);
    expect(Buffer.from(got!).equals(kept)).toBe(true);
    expect(readFileSync(b.framePath(jobId)).equals(kept)).toBe(true);
    expect(Math.abs(statSync(b.framePath(jobId)).mtimeMs - statSync(a.framePath(jobId)).mtimeMs)).toBeLessThan(1);
    // Nothing but the frame in b's folder: the temporary file was renamed.
    expect(readdirSync(join(b.workDir, 'frames'))).toEqual([`${jobId}.jpg`]);
    expect(b.warnings).toEqual([]);

    // The cached copy serves without Redis.
    redis.pause();
    try {
      expect(Buffer.from((await b.files.frame(jobId))!).equals(kept)).toBe(true);
    } finally {
      redis.resume();
    }
    expect(b.warnings).toEqual([]);

    // A job taken over by an instance that never saw the frame submits it all the same (a kept image).
    const image = { file: `frames/${jobId}.jpg`, mime: 'image/jpeg', bytes: kept.length, width: 640, height: 360 };
    expect(await c.files.imageForProvider(image)).toBe(`data:image/jpeg;base64,${kept.toString('base64')}`);
    expect(readFileSync(c.framePath(jobId)).equals(kept)).toBe(true);
    // A frame nobody kept is missing everywhere.
    await expect(c.files.imageForProvider({ ...image, file: `frames/${randomUUID()}.jpg` })).rejects.toThrow(/is gone/);
    expect(await c.files.frame('../../etc/passwd')).toBeUndefined();
  }, 60_000);

  it('expires in Redis with FRAME_RETENTION_DAYS; a cached copy expires with it and the sweep deletes it', async () => {
    const retentionMs = 5000;
    const prefix = `frames-${++seq}`;
    const [a, b, c] = [await instance(prefix, { retentionMs }), await instance(prefix, { retentionMs }), await instance(prefix, { retentionMs })];
    const jobId = randomUUID();
    const kept = await deliverFrame(a, jobId);
    const grabbedAt = statSync(a.framePath(jobId)).mtimeMs;
    const ttl = answer(await redis.command('PTTL', `${prefix}::frame:${jobId}`));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(retentionMs);
    expect(Buffer.from((await b.files.frame(jobId))!).equals(kept)).toBe(true);

    // Redis drops it by itself; then nobody hands it out.
    await until(async () => answer(await redis.command('EXISTS', `${prefix}::frame:${jobId}`)) === 0, 20_000);
    await until(() => Date.now() > grabbedAt + retentionMs, 20_000);
    expect(await c.files.frame(jobId)).toBeUndefined();
    expect(await b.files.frame(jobId)).toBeUndefined();
    expect(await a.files.frame(jobId)).toBeUndefined();
    expect(existsSync(c.framePath(jobId))).toBe(false);
    // The local files are the sweep's to delete, the cached one too.
    expect(await b.files.sweepFrames()).toBe(1);
    expect(existsSync(b.framePath(jobId))).toBe(false);
    expect(await a.files.sweepFrames()).toBe(1);
  }, 60_000);

  it('a Redis that stops answering while the frame is copied fails nothing: the video is delivered and the frame served here', async () => {
    const { service, clock, surf, warnings, workDir } = await serviceSharingFrames(`frames-${++seq}`, { videoTools: true });
    await service.start();
    const { job } = await service.submit({ input: { prompt: 'a fox in the snow' }, surface: surf.surface.kind, conversation: 'test:chan1', requester: { id: 'u1' } });
    const delivered = async () => (await service.get(job.id))?.status === 'delivered';
    // Stopped before the delivery (which is when the frame is grabbed and copied).
    redis.pause();
    try {
      for (const deadline = Date.now() + 60_000; !(await delivered()) || !warnings.length; ) {
        if (Date.now() > deadline) throw new Error(`not delivered and warned: ${JSON.stringify(warnings)}`);
        await clock.advance(1000);
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(surf.uploads()).toHaveLength(1);
      expect(warnings).toEqual(['could not copy the last frame to the shared store; only this instance can extend the video']);
      const frame = await service.lastFrame(job.id);
      expect(Buffer.from(frame!).equals(readFileSync(join(workDir, 'frames', `${job.id}.jpg`)))).toBe(true);
    } finally {
      redis.resume();
    }
    await service.stop({ graceMs: 10_000 });
  }, 90_000);
  it('a kept frame only the shared store holds, while it does not answer at submit: the job waits and retries, then goes with the frame', async () => {
    const prefix = `frames-${++seq}`;
    const a = await instance(prefix);
    const keptId = randomUUID();
    const jpeg = await deliverFrame(a, keptId);
    const { service, clock, prov, surf } = await serviceSharingFrames(prefix);
    const images: (string | undefined)[] = [];
    const start = prov.provider.start.bind(prov.provider);
    prov.provider.start = async (req, ctx) => {
      images.push(req.image?.url);
      return start(req, ctx);
    };
    await service.start();
    redis.pause();
    let id: string;
    try {
      const image = { kind: 'kept' as const, file: `frames/${keptId}.jpg`, mime: 'image/jpeg', bytes: jpeg.byteLength, width: 640, height: 360 };
      const { job } = await service.submit({ input: { prompt: 'the fox jumps', model: 'lite', image }, surface: surf.surface.kind, conversation: 'test:chan1', requester: { id: 'u1' } });
      id = job.id;
      // The frame can't be read: nothing is sent, and the job waits to try again rather than failing.
      await until(async () => (await service.get(id))?.retryAt !== undefined, 20_000);
      expect((await service.get(id))?.status).toBe('queued');
      expect(prov.starts).toBe(0);
    } finally {
      redis.resume();
    }
    for (const deadline = Date.now() + 30_000; prov.starts === 0; ) {
      if (Date.now() > deadline) throw new Error('never submitted after Redis answered again');
      await clock.advance(5000);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(prov.starts).toBe(1);
    expect(images[0]).toBe(`data:image/jpeg;base64,${jpeg.toString('base64')}`);
    await service.stop({ graceMs: 1000 });
  }, 90_000);
});
