/**
 * JOB_RETENTION_DAYS through the service on the manual clock: the purge runs at
 * start and then hourly; a finished job disappears once its retention is over,
 * unfinished jobs stay whatever their age, and Re-roll on an expired video is
 * answered with a clear message instead of failing.
 */
import { describe, expect, it } from 'vitest';
import { createCatalogue } from '../../src/core/catalogue.js';
import { utcDay } from '../../src/core/job.js';
import type { JobRecord } from '../../src/core/job.js';
import { BUILTIN_MODELS } from '../../src/providers/index.js';
import { createPlaceSettings } from '../../src/usecases/place-settings.js';
import { createVideoUseCases } from '../../src/usecases/video-use-cases.js';
import type { Logger } from '../../src/core/logger.js';
import { silentLogger } from '../../src/core/logger.js';
import { harness, tempStore } from './harness.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('job retention', () => {
  it('deletes a finished job after the retention; Re-roll on it then says the video is too old', async () => {
    // A lease of 3 h: one heartbeat (and purge check) per hour of manual time.
    const h = await harness({ config: { leaseMs: 3 * HOUR, jobRetentionMs: DAY } });
    const uc = createVideoUseCases({ service: h.service, settings: createPlaceSettings(h.db.kv), catalogue: createCatalogue(BUILTIN_MODELS, { providers: ['aimlapi'] }), jobRetentionDays: 1 });
    // Another platform's job, unfinished and far older than the retention: never purged.
    const elsewhere: JobRecord = { ...baseJob(h.clock.now() - 90 * DAY), id: 'other-1', surface: 'elsewhere', status: 'running' };
    await h.service.start();
    expect(await h.store.admit(elsewhere, { perUserActive: 100 })).toMatchObject({ ok: true });

    const { job } = await h.submit('a fox running through snow');
    await h.until(() => h.finished.includes(`${job.id}:delivered`));
    const reroll = uc.again(await uc.jobFor(job.id));
    expect(reroll).toMatchObject({ prompt: 'a fox running through snow' });

    // Hourly purges within the retention keep it, and the day's count with it.
    const finishedAt = (await h.store.get(job.id))!.updatedAt;
    await h.clock.advance(finishedAt + DAY - HOUR - h.clock.now());
    expect(await h.store.get(job.id)).toMatchObject({ status: 'delivered' });
    expect((await h.store.usage({ surface: 'test', requesterId: 'u1', day: utcDay(finishedAt) })).today).toBe(1);

    // A day after it finished, the next hourly purge deletes it.
    await h.clock.advance(2 * HOUR);
    expect(await h.store.get(job.id)).toBeUndefined();
    expect(await h.service.recent('test', 'u1')).not.toContainEqual(expect.objectContaining({ id: job.id }));
    expect(await h.store.get('other-1')).toMatchObject({ status: 'running' });
    await expect(uc.jobFor(job.id)).rejects.toMatchObject({
      code: 'not_found',
      message: "The bot no longer has this video's details (it keeps them for 1 day), so it can't re-roll, extend, cancel or delete it. Start a new video instead.",
    });
    await h.service.stop();
  });

  it('purges at start, in batches, everything past the retention', async () => {
    const info: { obj: object; msg?: string }[] = [];
    const logger: Logger = { ...silentLogger, info: (obj, msg) => void info.push({ obj, ...(msg ? { msg } : {}) }), child: () => logger };
    const h = await harness({ store: await tempStore(), config: { jobRetentionMs: DAY }, logger });
    const old = Array.from({ length: 1203 }, (_, i): JobRecord => ({
      ...baseJob(h.clock.now()),
      id: `old-${i}`,
      status: 'delivered',
      requester: { id: `u${i}` },
      createdAt: h.clock.now() - 3 * DAY,
      updatedAt: h.clock.now() - 2 * DAY - i,
    }));
    await Promise.all(old.map((j) => h.store.admit(j, { perUserActive: 10 })));
    const young = await h.store.admit({ ...baseJob(h.clock.now() - DAY + HOUR), id: 'young', status: 'failed' }, { perUserActive: 10 });
    expect(young.ok).toBe(true);
    const batches: number[] = [];
    const purge = h.store.purgeFinished.bind(h.store);
    h.store.purgeFinished = async (q) => {
      const n = await purge(q);
      batches.push(n);
      return n;
    };
    await h.service.start();
    await h.until(() => info.some((l) => l.msg?.startsWith('finished jobs past their retention')), 100, 1000);
    // One purge, 500 at a time, took them all.
    expect(batches).toEqual([500, 500, 203]);
    expect(info.filter((l) => l.msg?.startsWith('finished jobs past their retention')).map((l) => l.obj)).toEqual([{ purged: 1203, retentionDays: 1 }]);
    expect(await h.store.get('old-0')).toBeUndefined();
    expect(await h.store.get('old-1202')).toBeUndefined();
    expect(await h.store.get('young')).toMatchObject({ status: 'failed' });
    await h.service.stop();
  });
});

function baseJob(now: number): JobRecord {
  return {
    id: 'x',
    version: 0,
    surface: 'test',
    conversation: 'test:chan1',
    requester: { id: 'u1' },
    meta: {},
    request: { modelId: 'seedance-1-0-lite-t2v', prompt: 'old', resolution: '720p', duration: 5, seed: 1, fixedCamera: false, watermark: false },
    provider: 'aimlapi',
    status: 'queued',
    createdAt: now,
    updatedAt: now,
    attempts: { submit: 0, delivery: 0 },
  };
}
