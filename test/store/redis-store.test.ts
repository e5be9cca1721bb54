/**
 * The Redis store beyond the port's contract (job-store-contract.test.ts runs that on Redis
 * too): STORE_URL selects it, settings go through keyv on the same database, bots with their
 * own prefix share a database without seeing each other, two connections (as two processes)
 * admit and claim atomically together, and a server that hangs (SIGSTOP) or dies (SIGKILL)
 * makes every operation throw instead of answering "nothing there".
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import type { JobRecord } from '../../src/core/job.js';
import type { Store } from '../../src/store.js';
import { openStore } from '../../src/store.js';
import { openRedisStore } from '../../src/store/redis-store.js';
import type { RedisServer } from '../helpers/redis.js';
import { startRedis } from '../helpers/redis.js';

const T0 = 1_700_000_000_000;
const DAY0 = '2023-11-14';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const opened: Store[] = [];
afterEach(async () => {
  redis.resume();
  for (const s of opened.splice(0)) await s.close();
});

async function open(url: string, commandTimeoutMs = 300): Promise<Store> {
  const s = await openStore(url, '/nonexistent', { commandTimeoutMs });
  opened.push(s);
  return s;
}

let seq = 0;
function job(over: Partial<JobRecord> = {}): JobRecord {
  const n = ++seq;
  return {
    id: `rjob-${n}`,
    version: 0,
    surface: 'discord',
    conversation: 'discord:chan-1',
    requester: { id: 'u1' },
    meta: {},
    request: { modelId: 'seedance-1-0-lite-t2v', prompt: `prompt ${n}`, resolution: '720p', duration: 5, seed: n, fixedCamera: false, watermark: false },
    provider: 'aimlapi',
    status: 'queued',
    createdAt: T0 + n,
    updatedAt: T0 + n,
    attempts: { submit: 0, delivery: 0 },
    owner: 'A',
    ...over,
  };
}

describe('STORE_URL=redis://', () => {
  it('opens the Redis store: jobs and keyv settings live in the database, under the default prefix', async () => {
    await redis.command('FLUSHDB');
    const a = await open(redis.url({ db: 0 }));
    const j = job();
    expect(await a.jobs.admit(j, { perUserActive: 5 })).toMatchObject({ ok: true });
    await a.kv.set('guild:g1:settings', { channels: ['c1'], dailyLimit: 3 });
    expect(await redis.command('EXISTS', `seedance:job:${j.id}`)).toBe(':1\r\n');
    expect(await redis.command('EXISTS', 'seedance::guild:g1:settings')).toBe(':1\r\n');

    // A second process on the same URL sees both.
    const b = await open(redis.url({ db: 0 }));
    expect(await b.jobs.get(j.id)).toEqual({ ...j, version: 1 });
    expect(await b.kv.get('guild:g1:settings')).toEqual({ channels: ['c1'], dailyLimit: 3 });
    expect(await b.kv.delete('guild:g1:settings')).toBe(true);
    expect(await a.kv.get('guild:g1:settings')).toBeUndefined();
  });

  it('uses the database named in the URL', async () => {
    const one = await open(redis.url({ db: 1 }));
    const j = job();
    await one.jobs.admit(j, { perUserActive: 5 });
    await one.kv.set('k', 'in db 1');
    const zero = await open(redis.url({ db: 0 }));
    expect(await zero.jobs.get(j.id)).toBeUndefined();
    expect(await zero.kv.get('k')).toBeUndefined();
    expect(await (await open(redis.url({ db: 1 }))).kv.get('k')).toBe('in db 1');
  });

  it('keeps bots with different prefixes apart in one database, jobs, counts and settings', async () => {
    const a = await open(redis.url({ prefix: 'bot-a' }));
    const b = await open(redis.url({ prefix: 'bot-b' }));
    const j = job();
    await a.jobs.admit(j, { perUserActive: 5 });
    await a.kv.set('setting', 'a');
    expect(await b.jobs.get(j.id)).toBeUndefined();
    expect(await b.jobs.activeIds('discord')).toEqual([]);
    expect(await b.jobs.usage({ surface: 'discord', requesterId: 'u1', day: DAY0 })).toMatchObject({ active: 0, today: 0, queueLength: 0 });
    expect(await b.kv.get('setting')).toBeUndefined();
    expect(await b.jobs.claimOrphans({ surfaces: ['discord'], self: 'B', now: T0, deadOwners: ['A'], limit: 10 })).toEqual([]);
    expect(await b.jobs.admit(job(), { perUserActive: 1 })).toMatchObject({ ok: true });
    expect(await a.jobs.get(j.id)).toMatchObject({ owner: 'A', version: 1 });
  });

  it('fails to open, saying where, when nothing answers there', async () => {
    const closed = await startRedis();
    const url = closed.url();
    await closed.stop();
    await expect(openRedisStore(url.replace('redis://', 'redis://user:s3cret@'), { connectTimeoutMs: 500 })).rejects.toThrow(
      new RegExp(`could not connect to Redis at 127\\.0\\.0\\.1:${closed.port}/0 within 500 ms`),
    );
    await expect(openRedisStore(url.replace('redis://', 'redis://user:s3cret@'), { connectTimeoutMs: 200 })).rejects.not.toThrow(/s3cret/);
  });

  it('refuses a Redis URL it cannot use as a configuration error, naming no credentials', async () => {
    for (const url of ['redis://', 'redis://:s3cret@127.0.0.1:6379/zero', 'rediss://:s3cret@127.0.0.1:6379/0/1']) {
      const err = await openStore(url, '').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect(String((err as ConfigError).message)).not.toContain('s3cret');
    }
  });
});

describe('two connections on one database (two bot processes)', () => {
  it('admit exactly perUserActive of 60 admissions for one person between them', async () => {
    const prefix = `two-${++seq}`;
    const [a, b] = [await open(redis.url({ prefix })), await open(redis.url({ prefix }))];
    const limits = { perUserActive: 4, perUserDaily: 100 };
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).jobs.admit(job(), limits)));
    expect(results.filter((r) => r.ok)).toHaveLength(4);
    expect(await a.jobs.usage({ surface: 'discord', requesterId: 'u1', day: DAY0 })).toMatchObject({ active: 4, today: 4, queueLength: 4 });
  });

  it('claim each orphan once between them, and one claims another\'s jobs once its lease lapses', async () => {
    const prefix = `two-${++seq}`;
    const [a, b] = [await open(redis.url({ prefix })), await open(redis.url({ prefix }))];
    for (let i = 0; i < 40; i++) await a.jobs.admit(job({ owner: 'gone', status: 'running' }), { perUserActive: 100 });
    await a.jobs.putLease({ instance: 'X', expiresAt: T0 + 10_000 });
    await b.jobs.putLease({ instance: 'Y', expiresAt: T0 + 20_000 });
    const q = (self: string, now = T0) => ({ surfaces: ['discord'], self, now, deadOwners: [], limit: 15 });
    const rounds = await Promise.all([a.jobs.claimOrphans(q('X')), b.jobs.claimOrphans(q('Y')), a.jobs.claimOrphans(q('X')), b.jobs.claimOrphans(q('Y'))]);
    const ids = rounds.flat().map((r) => r.id);
    expect(ids).toHaveLength(40);
    expect(new Set(ids).size).toBe(40);
    // X's lease lapses: Y takes over X's jobs, and only those.
    const xs = rounds[0]!.length + rounds[2]!.length;
    const taken = await b.jobs.claimOrphans({ ...q('Y', T0 + 10_000), limit: 100 });
    expect(taken).toHaveLength(xs);
    expect(await a.jobs.claimOrphans({ ...q('X', T0 + 10_000), limit: 100 })).toEqual([]);
  });
});

describe('a Redis that fails for real', () => {
  /** Every operation of the port and keyv, each expected to reject (not to answer). */
  function everything(s: Store, id: string) {
    return {
      admit: s.jobs.admit(job(), { perUserActive: 100 }),
      get: s.jobs.get(id),
      write: s.jobs.write({ ...job({ id }), providerStatus: 'x' }, 1),
      usage: s.jobs.usage({ surface: 'discord', requesterId: 'u1', day: DAY0 }),
      claimOrphans: s.jobs.claimOrphans({ surfaces: ['discord'], self: 'B', now: T0, deadOwners: [], limit: 10 }),
      recent: s.jobs.recent({ surface: 'discord', requesterId: 'u1', limit: 5 }),
      activeIds: s.jobs.activeIds('discord'),
      purgeFinished: s.jobs.purgeFinished({ before: T0 + 1e9, limit: 10 }),
      putLease: s.jobs.putLease({ instance: 'A', expiresAt: T0 }),
      leasesOnHost: s.jobs.leasesOnHost('h1', T0),
      claimEvent: s.jobs.claimEvent('discord:message:1', T0, T0 + 1000),
      getStats: s.jobs.getStats('k'),
      putStats: s.jobs.putStats('k', { n: 1, mean: 1, variance: 0 }),
      kvGet: s.kv.get('setting'),
      kvSet: s.kv.set('setting', 'x'),
    };
  }
  /** How each operation ended: 'threw', or what it answered. */
  function outcomes(ops: Record<string, Promise<unknown>>): Promise<Record<string, string>> {
    const ended = Object.entries(ops).map(([name, p]) => p.then((v) => [name, `answered ${JSON.stringify(v)}`], () => [name, 'threw']));
    return Promise.all(ended).then(Object.fromEntries);
  }
  const allThrew = (names: string[]) => Object.fromEntries(names.map((n) => [n, 'threw']));

  it('throws from every operation while the server hangs (SIGSTOP), and works again once it answers', async () => {
    const s = await open(redis.url({ prefix: `stop-${++seq}` }));
    const first = job({ owner: 'gone', status: 'running' });
    await s.jobs.admit(first, { perUserActive: 100 });
    await s.kv.set('setting', 'kept');

    redis.pause();
    const ops = everything(s, first.id);
    expect(await outcomes(ops)).toEqual(allThrew(Object.keys(ops)));
    redis.resume();

    // (Commands that had reached the server before it stopped ran when it woke up: their callers
    // were told they failed, which is all anyone can know.)
    expect(await s.jobs.get(first.id)).toMatchObject({ id: first.id });
    expect(await s.kv.get('setting')).toBeDefined();
    expect(await s.jobs.claimEvent('discord:message:2', T0, T0 + 1000)).toBe(true);
  });

  it('a write that got no answer throws; whether it ran is unknown, and it ran at most once', async () => {
    const s = await open(redis.url({ prefix: `stop-${++seq}` }));
    const v1 = await s.jobs.admit(job(), { perUserActive: 100 });
    if (!v1.ok) throw new Error('refused');
    redis.pause();
    await expect(s.jobs.write({ ...v1.job, status: 'running', writeId: 'w-1' }, 1)).rejects.toThrow();
    redis.resume();
    // The job machine tells its own write by the writeId when it reads the job again.
    const now = await s.jobs.get(v1.job.id);
    expect([{ ...v1.job, version: 1 }, { ...v1.job, status: 'running', writeId: 'w-1', version: 2 }]).toContainEqual(now);
  });

  it('throws from every operation once the server is killed mid-operation, and carries on when one is back', async () => {
    const s = await open(redis.url({ prefix: `kill-${++seq}` }));
    const first = job();
    await s.jobs.admit(first, { perUserActive: 1000 });

    // Sent to a server that stopped answering, then died with them: every one throws.
    redis.pause();
    const admits = Array.from({ length: 50 }, () => s.jobs.admit(job(), { perUserActive: 1000 }).then((a) => (a.ok ? 'admitted' : `refused ${a.limit}`), () => 'threw'));
    const inFlightOps = everything(s, first.id);
    const inFlight = outcomes(inFlightOps);
    await new Promise((r) => setTimeout(r, 50));
    await redis.kill();
    expect(await Promise.all(admits)).toEqual(Array.from({ length: 50 }, () => 'threw'));
    expect(await inFlight).toEqual(allThrew(Object.keys(inFlightOps)));

    // While it is gone, too (the connection is being re-established meanwhile).
    const ops = everything(s, first.id);
    expect(await outcomes(ops)).toEqual(allThrew(Object.keys(ops)));

    // Back, empty (nothing was persisted): the same connection reconnects by itself.
    await redis.restart();
    await expect.poll(() => s.jobs.get(first.id).then(() => 'answered', () => 'threw'), { timeout: 5000, interval: 100 }).toBe('answered');
    expect(await s.jobs.admit(job(), { perUserActive: 1 })).toMatchObject({ ok: true });
  });
});
