/**
 * Delivery through platform outages, across restarts, up to its deadline; the
 * job's files on disk; and the size cap on DATA_DIR/videos.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import type { Logger } from '../../src/core/logger.js';
import { processStartTime } from '../../src/core/instance.js';
import type { ChatSurface } from '../../src/core/ports.js';
import { openStore } from '../../src/store.js';
import { harness, scriptedProvider } from './harness.js';

/** A PNG header that says 640x480 (enough for the image checks). */
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000280000001e00806000000', 'hex');

const files = (dir: string, sub: string) => (existsSync(join(dir, sub)) ? readdirSync(join(dir, sub)) : []);

/** Makes the surface's uploads fail (as a platform 5xx does) while `down()` says so. */
function outage(surface: ChatSurface, down: () => boolean) {
  const upload = surface.upload.bind(surface);
  let failures = 0;
  surface.upload = async (...args) => {
    if (down()) {
      failures++;
      throw new Error('503 Service Unavailable');
    }
    return upload(...args);
  };
  return { get failures() { return failures; } };
}

describe('delivery through a platform outage', () => {
  it('keeps trying while the platform is down for half an hour, says it is waiting, and delivers once', async () => {
    const h = await harness();
    const until = h.clock.now() + 30 * 60_000;
    const o = outage(h.surf.surface, () => h.clock.now() < until);
    await h.service.start();
    const { job } = await h.submit();
    await h.until(() => h.finished.length > 0, 5000, 3 * 3_600_000);
    expect(h.finished).toEqual([`${job.id}:delivered`]);
    expect(o.failures).toBeGreaterThan(5);
    expect(h.surf.uploads()).toHaveLength(1);
    expect(h.prov.starts).toBe(1);
    // The progress message said it was waiting for the platform, with the next try.
    const waiting = h.surf.edits().filter((e) => e.message.kind === 'progress' && e.message.progress.waiting === 'platform');
    expect(waiting.length).toBeGreaterThan(0);
    expect(waiting[0]!.message).toMatchObject({ progress: { phase: 'delivering', retryInSeconds: expect.any(Number) } });
    // Backoff is capped: after the outage the video went out within the cap (a minute).
    const delivered = h.surf.uploads()[0]!.at;
    expect(delivered - until).toBeLessThanOrEqual(60_000 * 1.25 + 5000);
    expect(files(h.config.workDir, 'videos')).toEqual([]);
  });

  it('gives up at the delivery deadline with a clear message, and cleans up', async () => {
    const h = await harness({ config: { deliveryDeadlineMs: 60 * 60_000 } });
    outage(h.surf.surface, () => true);
    await h.service.start();
    const { job } = await h.submit();
    await h.until(() => h.finished.length > 0, 10_000, 3 * 3_600_000);
    expect(h.finished).toEqual([`${job.id}:failed`]);
    const stored = await h.store.get(job.id);
    expect(stored?.error?.code).toBe('delivery_deadline');
    expect(h.surf.log.at(-1)!.message).toMatchObject({ kind: 'failed', text: 'The video was made, but it could not be posted here for 1 hours, so the bot stopped trying.' });
    expect(stored!.finishedAt! - stored!.completedAt!).toBeLessThanOrEqual(60 * 60_000 + 1000);
    expect(files(h.config.workDir, 'videos')).toEqual([]);
  });

  it('carries on after a restart with its backoff and deadline, and delivers once', async () => {
    const shared = await openStore('memory:', '');
    const clock = new ManualClock();
    const prov = scriptedProvider(clock);
    const A = { id: 'A', host: 'h/pid:[1]', pid: 2 ** 22 + 99, started: '1' };
    const a = await harness({ store: shared, clock, prov, identity: A });
    outage(a.surf.surface, () => true);
    await a.service.start();
    const { job } = await a.submit();
    await a.until(async () => ((await shared.jobs.get(job.id))?.attempts.delivery ?? 0) >= 3, 1000);
    await a.service.stop({ graceMs: 0 }); // A goes away mid-outage
    const before = await shared.jobs.get(job.id);
    expect(before).toMatchObject({ status: 'delivering', waiting: 'platform' });

    const b = await harness({ store: shared, clock, prov, identity: { id: 'B', host: 'h/pid:[1]', pid: process.pid, started: processStartTime(process.pid)! }, config: { workDir: a.config.workDir } });
    await b.service.start();
    await b.until(() => b.finished.length > 0, 1000);
    expect(b.finished).toEqual([`${job.id}:delivered`]);
    expect(b.surf.uploads().map((u) => u.key)).toEqual([job.id]);
    // B waited for the stored retry time before its first attempt.
    expect(b.surf.uploads()[0]!.at).toBeGreaterThanOrEqual(before!.retryAt!);
    expect(prov.starts).toBe(1);
    expect(files(a.config.workDir, 'videos')).toEqual([]);
  });
});

describe('files of a job', () => {
  it('writes an inline image once under DATA_DIR, keeps only its path in the record, and deletes it when the job ends', async () => {
    const h = await harness();
    let sent: string | undefined;
    const start = h.prov.provider.start.bind(h.prov.provider);
    h.prov.provider.start = async (req, ctx) => {
      sent = req.image?.url;
      return start(req, ctx);
    };
    await h.service.start();
    const png = Buffer.concat([PNG, Buffer.alloc(2000)]);
    const { job } = await h.service.submit({ input: { prompt: 'wave', image: { kind: 'bytes', data: png } }, surface: 'test', conversation: 'test:c', requester: { id: 'u' } });
    expect(job.request.image).toMatchObject({ file: `images/${job.id}-first.png`, mime: 'image/png', width: 640, height: 480 });
    expect(job.request.image?.data).toBeUndefined();
    expect(JSON.stringify(await h.store.get(job.id))).not.toContain('base64');
    expect(files(h.config.workDir, 'images')).toEqual([`${job.id}-first.png`]);
    await h.until(() => h.finished.length > 0);
    expect(sent?.startsWith('data:image/png;base64,')).toBe(true);
    expect(h.finished).toEqual([`${job.id}:delivered`]);
    expect(files(h.config.workDir, 'images')).toEqual([]);
    expect(files(h.config.workDir, 'videos')).toEqual([]);
  });

  it.each(['cancelled', 'failed', 'video_expired'] as const)('deletes the files of a job that ends %s', async (ending) => {
    const h = await harness({ config: { maxPerUser: 1 } });
    if (ending === 'failed') h.prov.outcome = 'fail';
    if (ending === 'video_expired') h.fetch.errors.push(h.fetch.expired());
    await h.service.start();
    const png = Buffer.concat([PNG, Buffer.alloc(2000)]);
    const input = { prompt: 'wave', image: { kind: 'bytes' as const, data: png } };
    if (ending === 'cancelled') await h.submit('first'); // keeps the next one queued
    const { job } = await h.service.submit({ input, surface: 'test', conversation: 'test:c', requester: { id: 'u1' } });
    expect(files(h.config.workDir, 'images')).toContain(`${job.id}-first.png`);
    if (ending === 'cancelled') await h.service.cancel(job.id, { id: 'u1' });
    await h.until(async () => (await h.store.get(job.id))?.status !== 'queued' && h.finished.some((f) => f.startsWith(job.id)));
    expect(files(h.config.workDir, 'images').filter((f) => f.startsWith(job.id))).toEqual([]);
    expect(files(h.config.workDir, 'videos').filter((f) => f.startsWith(job.id))).toEqual([]);
  });

  it('sweeps files that a crash left behind at the next start', async () => {
    const h = await harness();
    await h.service.start();
    const png = Buffer.concat([PNG, Buffer.alloc(2000)]);
    const { job } = await h.service.submit({ input: { prompt: 'wave', image: { kind: 'bytes', data: png } }, surface: 'test', conversation: 'test:c', requester: { id: 'u' } });
    await h.until(() => h.finished.length > 0);
    // As if the process had died between the end of a job and its clean-up:
    const { writeFileSync, mkdirSync } = await import('node:fs');
    mkdirSync(join(h.config.workDir, 'videos'), { recursive: true });
    writeFileSync(join(h.config.workDir, 'videos', `${job.id}.mp4`), 'x');
    writeFileSync(join(h.config.workDir, 'images', `${job.id}-first.png`), 'x');
    const again = await harness({ store: h.db, clock: h.clock, config: { workDir: h.config.workDir } });
    await again.service.start();
    expect(files(h.config.workDir, 'videos')).toEqual([]);
    expect(files(h.config.workDir, 'images')).toEqual([]);
  });
});

describe('the videos folder cap', () => {
  it('holds downloads while DATA_DIR/videos is full, says so once in the log, and delivers everything', async () => {
    const lines: string[] = [];
    const logger: Logger = {
      debug() {},
      info: (_o, m) => void lines.push(`info ${m}`),
      warn: (_o, m) => void lines.push(`warn ${m}`),
      error: (_o, m) => void lines.push(`error ${m}`),
      child() {
        return logger;
      },
    };
    // Room for one 2 KB video at a time; uploads take a while, so a second video waits for the first.
    const h = await harness({ config: { videosCapBytes: 1000, maxPerUser: 5 }, logger });
    const upload = h.surf.surface.upload.bind(h.surf.surface);
    let uploading = 0;
    let most = 0;
    h.surf.surface.upload = async (...args: Parameters<ChatSurface['upload']>) => {
      uploading++;
      most = Math.max(most, uploading);
      await new Promise<void>((r) => h.clock.setTimer(r, 20_000));
      uploading--;
      return upload(...args);
    };
    await h.service.start();
    await Promise.all([h.submit('a'), h.submit('b'), h.submit('c')]);
    await h.until(() => h.finished.length === 3, 1000);
    expect(h.finished.every((f) => f.endsWith(':delivered'))).toBe(true);
    expect(most).toBe(1);
    expect(lines.filter((l) => l.includes('the videos folder is full')).length).toBeGreaterThanOrEqual(1);
    expect(lines.filter((l) => l.includes('the videos folder is full')).length).toBeLessThan(h.surf.edits().length);
    const waits = h.surf.edits().filter((e) => e.message.kind === 'progress' && e.message.progress.waiting === 'disk');
    expect(waits.length).toBeGreaterThan(0);
    expect(files(h.config.workDir, 'videos')).toEqual([]);
  });
});
