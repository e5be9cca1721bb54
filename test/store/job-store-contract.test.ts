/**
 * The job store port's contract (src/core/job-store.ts), run against every
 * implementation: in memory, on SQLite in a temporary file and on a real
 * redis-server (test/helpers/redis.ts; each test with a key prefix of its own),
 * each opened the way the bot opens it. Whatever one implementation does, the
 * others must do too.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobRecord, JobStatus } from '../../src/core/job.js';
import type { AdmissionLimits, JobStore } from '../../src/core/job-store.js';
import type { Store } from '../../src/store.js';
import { openStore } from '../../src/store.js';
import type { RedisServer } from '../helpers/redis.js';
import { startRedis } from '../helpers/redis.js';

/** 2023-11-14T22:13:20.000Z: a little under two hours before a UTC midnight. */
const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;
const DAY0 = '2023-11-14';
/** The first millisecond of the next UTC day. */
const MIDNIGHT = Date.UTC(2023, 10, 15);

const implementations: [string, () => Promise<Store>][] = [
  ['memory', () => openStore('memory:', '')],
  ['sqlite', () => openStore(undefined, mkdtempSync(join(tmpdir(), 'seedance-contract-')), { busyTimeoutMs: 5000 })],
  ['redis', async () => openStore((redis ??= await startRedis()).url({ prefix: `contract-${++prefixes}` }), '')],
];

let redis: RedisServer | undefined;
let prefixes = 0;
afterAll(async () => {
  await redis?.stop();
});

let seq = 0;
function job(over: Partial<JobRecord> = {}): JobRecord {
  const n = ++seq;
  return {
    id: `job-${n}`,
    version: 0,
    surface: 'discord',
    conversation: 'discord:chan-1',
    requester: { id: 'u1', name: 'Ursula' },
    meta: { guildId: 'g1' },
    request: { modelId: 'seedance-1-0-lite-t2v', prompt: `prompt ${n}`, resolution: '720p', duration: 5, seed: n, fixedCamera: false, watermark: false },
    provider: 'aimlapi',
    status: 'queued',
    createdAt: T0 + n, // admitted in this order
    updatedAt: T0 + n,
    attempts: { submit: 0, delivery: 0 },
    owner: 'A',
    ...over,
  };
}

const roomy: AdmissionLimits = { perUserActive: 1000 };

describe.each(implementations)('job store contract: %s', (_name, open) => {
  let db: Store;
  let store: JobStore;
  beforeEach(async () => {
    db = await open();
    store = db.jobs;
  });
  afterEach(async () => {
    await db.close();
  });

  /** Admits `j` (which must be admitted) and returns the stored record. */
  async function put(j: JobRecord, limits: AdmissionLimits = roomy): Promise<JobRecord> {
    const a = await store.admit(j, limits);
    if (!a.ok) throw new Error(`${j.id} refused: ${a.limit}`);
    return a.job;
  }
  /** Moves a stored job to `status` (one write), returning the new record. */
  async function setStatus(id: string, status: JobStatus, over: Partial<JobRecord> = {}): Promise<JobRecord> {
    const cur = (await store.get(id))!;
    const w = await store.write({ ...cur, status, ...over }, cur.version);
    if (!w.ok) throw new Error(`write of ${id} refused`);
    return w.job;
  }

  describe('admit', () => {
    it('inserts the job with version 1, whatever version the draft had', async () => {
      const draft = job({ version: 7 });
      const a = await store.admit(draft, roomy);
      expect(a).toEqual({ ok: true, job: { ...draft, version: 1 } });
      expect(await store.get(draft.id)).toEqual({ ...draft, version: 1 });
      expect(await store.activeIds('discord')).toEqual([draft.id]);
    });

    it('keeps a copy: changing the draft or a returned record changes nothing stored', async () => {
      const draft = job();
      const a = await store.admit(draft, roomy);
      draft.status = 'failed';
      draft.requester.id = 'someone else';
      if (a.ok) a.job.meta.guildId = 'changed';
      const got = (await store.get(draft.id))!;
      got.status = 'cancelled';
      expect(await store.get(draft.id)).toMatchObject({ status: 'queued', requester: { id: 'u1' }, meta: { guildId: 'g1' } });
    });

    it('never replaces a stored job: admitting an id that exists fails and changes nothing', async () => {
      const v1 = await put(job({ owner: 'A' }));
      const w = await store.write({ ...v1, status: 'running', providerStatus: 'generating' }, 1);
      const stored = w.ok ? w.job : v1;
      const again = await store.admit({ ...v1, owner: 'B', status: 'queued' }, roomy).catch((err: unknown) => err);
      expect(again).not.toMatchObject({ ok: true });
      expect(await store.get(v1.id)).toEqual(stored);
    });

    it('admits a job in a final status as finished: not active, not claimable', async () => {
      // Not something the service does (drafts are queued), but the port counts by status.
      const done = await put(job({ status: 'delivered', owner: undefined }));
      expect(await store.activeIds('discord')).toEqual([]);
      expect(await store.usage({ surface: 'discord', requesterId: 'u1', day: DAY0 })).toMatchObject({ active: 0, today: 1 });
      expect(await store.admit(job(), { perUserActive: 1 })).toMatchObject({ ok: true });
      expect(await store.claimOrphans({ surfaces: ['discord'], self: 'me', now: T0, deadOwners: [], limit: 10 })).not.toContainEqual(expect.objectContaining({ id: done.id }));
    });

    it('refuses with user_active at perUserActive, per surface and user, and stores nothing', async () => {
      const limits = { perUserActive: 2 };
      await put(job(), limits);
      await put(job({ status: 'running' }), limits);
      const third = job();
      expect(await store.admit(third, limits)).toEqual({ ok: false, limit: 'user_active' });
      expect(await store.get(third.id)).toBeUndefined();
      // Another person, and the same id on another surface, are not affected.
      await put(job({ requester: { id: 'u2' } }), limits);
      await put(job({ surface: 'slack' }), limits);
    });

    it('does not count finished jobs as active', async () => {
      const limits = { perUserActive: 2 };
      const first = await put(job(), limits);
      await put(job(), limits);
      expect(await store.admit(job(), limits)).toMatchObject({ ok: false, limit: 'user_active' });
      await setStatus(first.id, 'delivered');
      await put(job(), limits);
      expect(await store.admit(job(), limits)).toMatchObject({ ok: false, limit: 'user_active' });
    });

    it('counts every unfinished status as active', async () => {
      const active: JobStatus[] = ['queued', 'submitting', 'running', 'completed', 'delivering'];
      const limits = { perUserActive: active.length };
      for (const status of active) await put(job({ status }), limits);
      expect(await store.admit(job(), limits)).toMatchObject({ ok: false, limit: 'user_active' });
    });

    it('refuses with queue_length when that many jobs wait in the queue, across everyone', async () => {
      const limits = { perUserActive: 10, queueLength: 2 };
      const a = await put(job({ requester: { id: 'u1' } }), limits);
      await put(job({ requester: { id: 'u2' }, surface: 'slack' }), limits);
      const third = job({ requester: { id: 'u3' } });
      expect(await store.admit(third, limits)).toEqual({ ok: false, limit: 'queue_length' });
      expect(await store.get(third.id)).toBeUndefined();
      // A job that left the queue (submitted) no longer takes a place in it.
      await setStatus(a.id, 'running');
      await put(third, limits);
      expect(await store.admit(job({ requester: { id: 'u4' } }), limits)).toMatchObject({ ok: false, limit: 'queue_length' });
    });

    it('refuses with user_daily per UTC day of createdAt, wherever the jobs were started, finished or not', async () => {
      const limits = { perUserActive: 10, perUserDaily: 2 };
      const first = await put(job({ place: 'discord:guild:1' }), limits);
      await put(job({ place: 'discord:guild:2', createdAt: MIDNIGHT - 1 }), limits); // last ms of the same day
      await setStatus(first.id, 'delivered');
      const third = job({ createdAt: T0 + HOUR });
      expect(await store.admit(third, limits)).toEqual({ ok: false, limit: 'user_daily' });
      expect(await store.get(third.id)).toBeUndefined();
      // The next UTC day starts afresh; another person and another surface count apart.
      await put(job({ createdAt: MIDNIGHT }), limits);
      await put(job({ requester: { id: 'u2' } }), limits);
      await put(job({ surface: 'slack' }), limits);
    });

    it('does not count released jobs towards daily limits', async () => {
      const limits = { perUserActive: 10, perUserDaily: 2 };
      const first = await put(job(), limits);
      await put(job(), limits);
      expect(await store.admit(job(), limits)).toMatchObject({ ok: false, limit: 'user_daily' });
      // Cancelled before it was submitted: the admission is released.
      await setStatus(first.id, 'cancelled', { released: true });
      await put(job(), limits);
      expect(await store.admit(job(), limits)).toMatchObject({ ok: false, limit: 'user_daily' });

      const place = 'discord:guild:1';
      const inPlace = { perUserActive: 10, placeDaily: 1 };
      const here = await put(job({ place }), inPlace);
      expect(await store.admit(job({ place }), inPlace)).toMatchObject({ ok: false, limit: 'place_daily' });
      await setStatus(here.id, 'failed', { released: true });
      await put(job({ place }), inPlace);
    });

    it('refuses with place_daily per person, per place, per UTC day', async () => {
      const limits = { perUserActive: 10, placeDaily: 1 };
      const place = 'discord:guild:1';
      await put(job({ place }), limits);
      const second = job({ place });
      expect(await store.admit(second, limits)).toEqual({ ok: false, limit: 'place_daily' });
      expect(await store.get(second.id)).toBeUndefined();
      await put(job({ place: 'discord:guild:2' }), limits); // another place
      await put(job(), limits); // no place: the place limit does not apply
      await put(job({ place, requester: { id: 'u2' } }), limits); // another person here
      await put(job({ place, createdAt: MIDNIGHT }), limits); // tomorrow
    });

    it('admits exactly perUserActive of 50 concurrent admissions for one person', async () => {
      const limits = { perUserActive: 3 };
      const drafts = Array.from({ length: 50 }, () => job());
      const results = await Promise.all(drafts.map((d) => store.admit(d, limits)));
      const admitted = results.filter((r) => r.ok);
      expect(admitted).toHaveLength(3);
      expect(results.filter((r) => !r.ok)).toEqual(Array.from({ length: 47 }, () => ({ ok: false, limit: 'user_active' })));
      expect((await store.activeIds('discord')).sort()).toEqual(admitted.map((r) => (r.ok ? r.job.id : '')).sort());
      expect(await store.usage({ surface: 'discord', requesterId: 'u1', day: DAY0 })).toMatchObject({ active: 3, today: 3 });
    });

    it('admits exactly perUserDaily of concurrent admissions against a daily limit', async () => {
      const limits = { perUserActive: 100, perUserDaily: 4 };
      const results = await Promise.all(Array.from({ length: 30 }, () => store.admit(job({ status: 'running' }), limits)));
      expect(results.filter((r) => r.ok)).toHaveLength(4);
      expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.limit === 'user_daily')).toBe(true);
    });
  });

  describe('usage', () => {
    it('counts what one person has going, today and in a place, and the whole queue', async () => {
      const place = 'discord:guild:1';
      await put(job()); // queued, today
      await put(job({ status: 'running', place })); // today, in place
      const done = await put(job({ place }));
      await setStatus(done.id, 'delivered'); // finished, still counts today (in place)
      const released = await put(job({ place }));
      await setStatus(released.id, 'cancelled', { released: true }); // counts nowhere
      await put(job({ status: 'completed', createdAt: T0 - 24 * HOUR, place })); // yesterday: active, not today
      await put(job({ place: 'discord:guild:2', status: 'delivering' })); // today, elsewhere
      await put(job({ requester: { id: 'u2' }, place })); // someone else, queued
      await put(job({ surface: 'slack' })); // the same id on another surface, queued

      expect(await store.usage({ surface: 'discord', requesterId: 'u1', place, day: DAY0 })).toEqual({ active: 4, queued: 1, today: 4, todayInPlace: 2, queueLength: 3 });
      expect(await store.usage({ surface: 'discord', requesterId: 'u1', day: DAY0 })).toEqual({ active: 4, queued: 1, today: 4, todayInPlace: 0, queueLength: 3 });
      expect(await store.usage({ surface: 'discord', requesterId: 'u1', place, day: '2023-11-13' })).toEqual({ active: 4, queued: 1, today: 1, todayInPlace: 1, queueLength: 3 });
      expect(await store.usage({ surface: 'slack', requesterId: 'u1', day: DAY0 })).toEqual({ active: 1, queued: 1, today: 1, todayInPlace: 0, queueLength: 3 });
      expect(await store.usage({ surface: 'discord', requesterId: 'nobody', place, day: DAY0 })).toEqual({ active: 0, queued: 0, today: 0, todayInPlace: 0, queueLength: 3 });
    });

    it('agrees with what admission refuses', async () => {
      const limits = { perUserActive: 10, perUserDaily: 3 };
      await put(job(), limits);
      await put(job(), limits);
      await put(job(), limits);
      const u = await store.usage({ surface: 'discord', requesterId: 'u1', day: DAY0 });
      expect(u.today).toBe(3);
      expect(await store.admit(job(), limits)).toMatchObject({ ok: false, limit: 'user_daily' });
      expect(await store.usage({ surface: 'discord', requesterId: 'u1', day: DAY0 })).toEqual(u);
    });
  });

  describe('write', () => {
    it('is a compare-and-set on the version: the first write lands, a stale one gets the current record', async () => {
      const v1 = await put(job());
      const a = await store.write({ ...v1, status: 'submitting', attempts: { submit: 1, delivery: 0 } }, 1);
      expect(a.ok).toBe(true);
      const v2 = a.ok ? a.job : v1;
      expect(v2).toMatchObject({ version: 2, status: 'submitting', attempts: { submit: 1, delivery: 0 } });
      expect(await store.get(v1.id)).toEqual(v2);

      const stale = await store.write({ ...v1, status: 'cancelled' }, 1);
      expect(stale).toEqual({ ok: false, current: v2 });
      expect(await store.get(v1.id)).toEqual(v2);
      // A version from the future does not land either.
      expect(await store.write({ ...v1, status: 'cancelled' }, 5)).toEqual({ ok: false, current: v2 });
    });

    it('bumps the version by one on every write and stores the whole record', async () => {
      let cur = await put(job());
      for (let v = 2; v <= 5; v++) {
        const next: JobRecord = { ...cur, providerStatus: `step ${v}`, updatedAt: cur.updatedAt + 1000, writeId: `w${v}` };
        const w = await store.write(next, cur.version);
        expect(w).toEqual({ ok: true, job: { ...next, version: v } });
        cur = w.ok ? w.job : cur;
      }
      expect(await store.get(cur.id)).toEqual({ ...cur, version: 5 });
    });

    it('lets only one of two concurrent writes with the same version land', async () => {
      const v1 = await put(job());
      const [a, b] = await Promise.all([store.write({ ...v1, providerStatus: 'a' }, 1), store.write({ ...v1, providerStatus: 'b' }, 1)]);
      expect([a.ok, b.ok].filter(Boolean)).toHaveLength(1);
      const stored = (await store.get(v1.id))!;
      expect(stored.version).toBe(2);
      expect(stored.providerStatus).toBe(a.ok ? 'a' : 'b');
    });

    it('answers a write of an unknown job with ok: false and no current record', async () => {
      const ghost = job();
      expect(await store.write(ghost, 1)).toEqual({ ok: false, current: undefined });
      expect(await store.get(ghost.id)).toBeUndefined();
    });

    it('makes the job inactive once it has a final status', async () => {
      const a = await put(job());
      const b = await put(job({ status: 'running' }));
      expect(await store.activeIds('discord')).toEqual([a.id, b.id]);
      for (const status of ['delivered', 'failed', 'timed_out', 'cancelled', 'submit_unknown'] as const) {
        const c = await put(job());
        await setStatus(c.id, status);
        expect(await store.activeIds('discord')).toEqual([a.id, b.id]);
      }
      await setStatus(a.id, 'failed');
      expect(await store.activeIds('discord')).toEqual([b.id]);
      expect(await store.usage({ surface: 'discord', requesterId: 'u1', day: DAY0 })).toMatchObject({ active: 1, queued: 0 });
    });

    it('keeps the owner: a write never changes who owns the job', async () => {
      const v1 = await put(job({ owner: 'A' }));
      const w = await store.write({ ...v1, owner: 'B', providerStatus: 'x' }, 1);
      expect(w).toMatchObject({ ok: true, job: { owner: 'A', providerStatus: 'x', version: 2 } });
      const { owner: _o, ...withoutOwner } = w.ok ? w.job : v1;
      const w2 = await store.write(withoutOwner as JobRecord, 2);
      expect(w2).toMatchObject({ ok: true, job: { owner: 'A', version: 3 } });
      expect((await store.get(v1.id))?.owner).toBe('A');

      // An ownerless job stays ownerless.
      const free = await put(job({ owner: undefined }));
      expect(free.owner).toBeUndefined();
      const w3 = await store.write({ ...free, owner: 'B' }, 1);
      expect(w3.ok && w3.job.owner).toBeUndefined();
      expect((await store.get(free.id))?.owner).toBeUndefined();

      // After a takeover, writes keep the new owner.
      await store.putLease({ instance: 'A', expiresAt: T0 - 1 });
      const [claimed] = await store.claimOrphans({ surfaces: ['discord'], self: 'C', now: T0, deadOwners: [], limit: 1 });
      expect(claimed).toMatchObject({ id: v1.id, owner: 'C', version: 4 });
      const w4 = await store.write({ ...claimed!, owner: 'A' }, 4);
      expect(w4).toMatchObject({ ok: true, job: { owner: 'C', version: 5 } });
    });
  });

  describe('versions', () => {
    it('answers the stored version of each known id, moved by writes and claims, in batches past 500', async () => {
      const a = await put(job({ owner: 'me' }));
      const b = await put(job({ owner: 'lapsed', status: 'running' }));
      await setStatus(a.id, 'submitting');
      await setStatus(a.id, 'running');
      await store.putLease({ instance: 'lapsed', expiresAt: T0 });
      expect((await store.claimOrphans({ surfaces: ['discord'], self: 'me', now: T0 + HOUR, deadOwners: [], limit: 10 })).map((j) => j.id)).toEqual([b.id]);
      const ghosts = Array.from({ length: 600 }, (_, n) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`);
      const got = await store.versions([...ghosts.slice(0, 550), a.id, ...ghosts.slice(550), b.id]);
      expect([...got].sort()).toEqual([
        [a.id, 3],
        [b.id, 2],
      ].sort());
      expect(await store.versions([])).toEqual(new Map());
    });
  });

  describe('claimOrphans', () => {
    const now = T0 + HOUR;
    const q = (over: Partial<Parameters<JobStore['claimOrphans']>[0]> = {}) => ({ surfaces: ['discord'], self: 'me', now, deadOwners: [] as string[], limit: 100, ...over });

    async function world() {
      await store.putLease({ instance: 'alive', expiresAt: now + 60_000 });
      await store.putLease({ instance: 'lapsed', expiresAt: now - 1 });
      await store.putLease({ instance: 'lapsing', expiresAt: now }); // alive exactly while expiresAt is in the future
      await store.putLease({ instance: 'declared-dead', expiresAt: now + 60_000 });
      await store.putLease({ instance: 'me', expiresAt: now + 60_000 });
      const j = {
        alive: await put(job({ owner: 'alive', status: 'running' })),
        lapsed: await put(job({ owner: 'lapsed', status: 'running' })),
        lapsing: await put(job({ owner: 'lapsing', status: 'completed' })),
        noLease: await put(job({ owner: 'never-leased', status: 'delivering' })),
        dead: await put(job({ owner: 'declared-dead', status: 'submitting' })),
        ownerless: await put(job({ owner: undefined })),
        mine: await put(job({ owner: 'me', status: 'running' })),
        finished: await setStatus((await put(job({ owner: 'lapsed' }))).id, 'delivered'),
        finishedOwnerless: await setStatus((await put(job({ owner: undefined }))).id, 'failed'),
        otherSurface: await put(job({ owner: 'lapsed', surface: 'slack' })),
      };
      return j;
    }

    it('claims the jobs of lapsed, unleased and declared-dead owners and ownerless ones, and nothing else', async () => {
      const j = await world();
      const claimed = await store.claimOrphans(q({ deadOwners: ['declared-dead'] }));
      const expected = [j.lapsed, j.lapsing, j.noLease, j.dead, j.ownerless];
      expect(claimed).toEqual(expected.map((r) => ({ ...r, owner: 'me', version: r.version + 1 })));
      for (const r of expected) expect(await store.get(r.id)).toMatchObject({ owner: 'me', version: r.version + 1 });
      // Untouched: a live owner's, our own, finished ones, other surfaces'.
      for (const r of [j.alive, j.mine, j.finished, j.finishedOwnerless, j.otherSurface]) expect(await store.get(r.id)).toEqual(r);
      // They are ours now: a second sweep finds nothing.
      expect(await store.claimOrphans(q({ deadOwners: ['declared-dead'] }))).toEqual([]);
    });

    it('never claims a job of an owner whose lease is fresh unless it is declared dead', async () => {
      const j = await world();
      const claimed = await store.claimOrphans(q());
      expect(claimed.map((r) => r.id)).not.toContain(j.alive.id);
      expect(claimed.map((r) => r.id)).not.toContain(j.dead.id);
      expect((await store.get(j.dead.id))?.owner).toBe('declared-dead');
      expect((await store.get(j.alive.id))?.owner).toBe('alive');
    });

    it('never claims its own jobs, even with its own lease lapsed or itself listed as dead', async () => {
      const mine = await put(job({ owner: 'me', status: 'running' }));
      expect(await store.claimOrphans(q({ deadOwners: ['me'] }))).toEqual([]);
      await store.putLease({ instance: 'me', expiresAt: now - 1 });
      expect(await store.claimOrphans(q({ deadOwners: ['me'] }))).toEqual([]);
      expect(await store.get(mine.id)).toEqual(mine);
    });

    it('only claims jobs of the given surfaces', async () => {
      const j = await world();
      const slackOnly = await store.claimOrphans(q({ surfaces: ['slack'] }));
      expect(slackOnly.map((r) => r.id)).toEqual([j.otherSurface.id]);
      expect(await store.claimOrphans(q({ surfaces: [] }))).toEqual([]);
      expect(await store.claimOrphans(q({ surfaces: ['terminal'] }))).toEqual([]);
      const both = await store.claimOrphans(q({ surfaces: ['slack', 'discord'] }));
      expect(both.map((r) => r.id).sort()).toEqual([j.lapsed, j.lapsing, j.noLease, j.ownerless].map((r) => r.id).sort());
    });

    it('claims at most `limit` jobs at a time; the rest follow at the next sweep', async () => {
      const orphans = [];
      for (let i = 0; i < 5; i++) orphans.push(await put(job({ owner: 'gone', status: 'running' })));
      const first = await store.claimOrphans(q({ limit: 2 }));
      expect(first).toHaveLength(2);
      const second = await store.claimOrphans(q({ limit: 2 }));
      expect(second).toHaveLength(2);
      const third = await store.claimOrphans(q({ limit: 2 }));
      expect(third).toHaveLength(1);
      expect([...first, ...second, ...third].map((r) => r.id).sort()).toEqual(orphans.map((r) => r.id).sort());
      expect(await store.claimOrphans(q({ limit: 2 }))).toEqual([]);
    });

    it('bumps the version, so a write by the previous owner no longer lands', async () => {
      const v1 = await put(job({ owner: 'gone', status: 'running' }));
      const [claimed] = await store.claimOrphans(q());
      expect(claimed).toMatchObject({ id: v1.id, owner: 'me', version: 2 });
      const late = await store.write({ ...v1, status: 'failed' }, 1);
      expect(late).toEqual({ ok: false, current: claimed });
    });

    it('lets only one of two instances sweeping at once claim a job', async () => {
      for (let i = 0; i < 10; i++) await put(job({ owner: 'gone', status: 'running' }));
      // Both sweepers are alive (otherwise each may rightly take the other's).
      await store.putLease({ instance: 'X', expiresAt: now + 60_000 });
      await store.putLease({ instance: 'Y', expiresAt: now + 60_000 });
      const [x, y] = await Promise.all([store.claimOrphans(q({ self: 'X' })), store.claimOrphans(q({ self: 'Y' }))]);
      expect(x.length + y.length).toBe(10);
      const ids = [...x, ...y].map((r) => r.id);
      expect(new Set(ids).size).toBe(10);
    });

    it('never claims finished jobs', async () => {
      for (const status of ['delivered', 'failed', 'timed_out', 'cancelled', 'submit_unknown'] as const) {
        await setStatus((await put(job({ owner: undefined }))).id, status);
        await setStatus((await put(job({ owner: 'gone' }))).id, status);
      }
      expect(await store.claimOrphans(q({ deadOwners: ['gone'] }))).toEqual([]);
    });
  });

  describe('leases', () => {
    it('leasesOnHost returns the fresh leases of that host only', async () => {
      const now = T0;
      await store.putLease({ instance: 'a1', expiresAt: now + 1000, host: 'h1', pid: 11, started: '111' });
      await store.putLease({ instance: 'a2', expiresAt: now + 5000, host: 'h1' });
      await store.putLease({ instance: 'a3', expiresAt: now, host: 'h1', pid: 13, started: '133' }); // lapsing now
      await store.putLease({ instance: 'a4', expiresAt: now - 1000, host: 'h1', pid: 14, started: '144' });
      await store.putLease({ instance: 'b1', expiresAt: now + 1000, host: 'h2', pid: 11, started: '111' });
      await store.putLease({ instance: 'c1', expiresAt: now + 1000, pid: 21 });
      const got = (await store.leasesOnHost('h1', now)).sort((x, y) => x.instance.localeCompare(y.instance));
      expect(got).toEqual([
        { instance: 'a1', expiresAt: now + 1000, host: 'h1', pid: 11, started: '111' },
        { instance: 'a2', expiresAt: now + 5000, host: 'h1' },
      ]);
      expect(await store.leasesOnHost('h1', now + 1000)).toEqual([{ instance: 'a2', expiresAt: now + 5000, host: 'h1' }]);
      expect(await store.leasesOnHost('nowhere', now)).toEqual([]);
    });

    it('putLease renews (or ends) the expiry of an existing lease', async () => {
      const now = T0;
      const lease = { instance: 'a1', expiresAt: now - 1, host: 'h1', pid: 11, started: '111' };
      await store.putLease(lease);
      expect(await store.leasesOnHost('h1', now)).toEqual([]);
      await store.putLease({ ...lease, expiresAt: now + 60_000 });
      expect(await store.leasesOnHost('h1', now)).toEqual([{ ...lease, expiresAt: now + 60_000 }]);
      await store.putLease({ ...lease, expiresAt: 0 }); // released at stop
      expect(await store.leasesOnHost('h1', now)).toEqual([]);
    });

    it('a renewed lease protects the jobs of its instance from a sweep, a lapsed one does not', async () => {
      const now = T0;
      const j = await put(job({ owner: 'a1', status: 'running' }));
      await store.putLease({ instance: 'a1', expiresAt: now + 1000 });
      expect(await store.claimOrphans({ surfaces: ['discord'], self: 'b', now, deadOwners: [], limit: 10 })).toEqual([]);
      await store.putLease({ instance: 'a1', expiresAt: now + 5000 });
      expect(await store.claimOrphans({ surfaces: ['discord'], self: 'b', now: now + 4999, deadOwners: [], limit: 10 })).toEqual([]);
      const claimed = await store.claimOrphans({ surfaces: ['discord'], self: 'b', now: now + 5000, deadOwners: [], limit: 10 });
      expect(claimed.map((r) => [r.id, r.owner])).toEqual([[j.id, 'b']]);
    });
  });

  describe('recent', () => {
    it("lists one person's jobs on one surface, newest first, up to the limit", async () => {
      const a = job({ requester: { id: 'u7' } });
      const b = job({ requester: { id: 'u7' }, status: 'queued' });
      const c = job({ requester: { id: 'u7' } });
      for (const j of [a, b, c, job({ requester: { id: 'u8' } }), job({ requester: { id: 'u7' }, surface: 'slack' })]) await store.admit(j, roomy);
      expect((await store.recent({ surface: 'discord', requesterId: 'u7', limit: 2 })).map((j) => j.id)).toEqual([c.id, b.id]);
      expect((await store.recent({ surface: 'discord', requesterId: 'u7', limit: 10 })).map((j) => j.id)).toEqual([c.id, b.id, a.id]);
      expect(await store.recent({ surface: 'discord', requesterId: 'nobody', limit: 5 })).toEqual([]);
    });
  });

  describe('purgeFinished', () => {
    const DAY = 24 * HOUR;
    const cutoff = T0 + 30 * DAY;
    const FINAL = ['delivered', 'failed', 'timed_out', 'cancelled', 'submit_unknown'] as const;
    const ACTIVE = ['queued', 'submitting', 'running', 'completed', 'delivering'] as const;

    it('deletes finished jobs last written before the cut-off, keeps later ones, and never touches unfinished ones', async () => {
      const old = [];
      for (const status of FINAL) old.push(await setStatus((await put(job())).id, status, { updatedAt: cutoff - DAY }));
      const recent = await setStatus((await put(job())).id, 'delivered', { updatedAt: cutoff });
      const active = [];
      for (const status of ACTIVE) active.push(status === 'queued' ? await put(job()) : await setStatus((await put(job())).id, status, { updatedAt: T0 + 1 }));
      const before = await store.usage({ surface: 'discord', requesterId: 'u1', day: DAY0 });

      expect(await store.purgeFinished({ before: cutoff, limit: 100 })).toBe(FINAL.length);
      for (const j of old) expect(await store.get(j.id)).toBeUndefined();
      expect(await store.get(recent.id)).toEqual(recent);
      for (const j of active) expect(await store.get(j.id)).toEqual(j);
      expect((await store.recent({ surface: 'discord', requesterId: 'u1', limit: 100 })).map((j) => j.id).sort()).toEqual([recent, ...active].map((j) => j.id).sort());
      // The active ones and the queue count are as they were; only the purged rows left today's count.
      expect(await store.usage({ surface: 'discord', requesterId: 'u1', day: DAY0 })).toEqual({ ...before, today: before.today - FINAL.length });
      expect(await store.activeIds('discord')).toEqual(active.map((j) => j.id));
      expect(await store.purgeFinished({ before: cutoff, limit: 100 })).toBe(0);
    });

    it('goes in batches of at most `limit`, oldest first', async () => {
      const old = [];
      for (let i = 0; i < 7; i++) old.push(await setStatus((await put(job())).id, 'delivered', { updatedAt: T0 + (7 - i) * HOUR }));
      const oldestFirst = [...old].sort((a, b) => a.updatedAt - b.updatedAt);
      expect(await store.purgeFinished({ before: cutoff, limit: 3 })).toBe(3);
      for (const j of oldestFirst.slice(0, 3)) expect(await store.get(j.id)).toBeUndefined();
      for (const j of oldestFirst.slice(3)) expect(await store.get(j.id)).toBeDefined();
      expect(await store.purgeFinished({ before: cutoff, limit: 3 })).toBe(3);
      expect(await store.purgeFinished({ before: cutoff, limit: 3 })).toBe(1);
      expect(await store.purgeFinished({ before: cutoff, limit: 3 })).toBe(0);
      expect(await store.recent({ surface: 'discord', requesterId: 'u1', limit: 10 })).toEqual([]);
    });

    it('leaves a purged id free, and an admitted job can use it again', async () => {
      const done = await setStatus((await put(job())).id, 'failed', { updatedAt: T0 });
      expect(await store.purgeFinished({ before: cutoff, limit: 10 })).toBe(1);
      await expect(store.admit({ ...job(), id: done.id }, roomy)).resolves.toMatchObject({ ok: true });
    });
  });

  describe('claimEvent', () => {
    it('is true once per key until it expires, then claimable again', async () => {
      expect(await store.claimEvent('discord:message:1', T0, T0 + HOUR)).toBe(true);
      expect(await store.claimEvent('discord:message:1', T0 + 1, T0 + 1 + HOUR)).toBe(false);
      expect(await store.claimEvent('discord:message:2', T0 + 1, T0 + 1 + HOUR)).toBe(true);
      expect(await store.claimEvent('discord:message:1', T0 + HOUR - 1, T0 + 2 * HOUR)).toBe(false);
      expect(await store.claimEvent('discord:message:1', T0 + HOUR, T0 + 2 * HOUR)).toBe(true);
      expect(await store.claimEvent('discord:message:1', T0 + HOUR + 1, T0 + 2 * HOUR)).toBe(false);
    });

    it('has exactly one winner among 20 copies claimed at once', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, () => store.claimEvent('slack:event:Ev1', T0, T0 + HOUR)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });
  });

  describe('stats', () => {
    it('round-trip, and a put replaces what was there', async () => {
      const key = 'aimlapi/seedance-1-0-lite-t2v|720p|5s';
      expect(await store.getStats(key)).toBeUndefined();
      await store.putStats(key, { n: 1, mean: 3.4, variance: 0 });
      expect(await store.getStats(key)).toEqual({ n: 1, mean: 3.4, variance: 0 });
      await store.putStats(key, { n: 2, mean: 3.5, variance: 0.01 });
      expect(await store.getStats(key)).toEqual({ n: 2, mean: 3.5, variance: 0.01 });
      expect(await store.getStats('other|480p|10s')).toBeUndefined();
    });
  });
});
