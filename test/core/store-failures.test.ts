/**
 * The job service on a real SQLite store that fails for real: a second
 * connection holds the database's write lock (BEGIN EXCLUSIVE), so every write
 * of the store fails with SQLITE_BUSY after its busy timeout (50 ms in
 * `tempStore`) while reads still work, until the lock is released. A failing
 * store must never lose, erase, repeat or give away a job: a write that did not
 * land is tried again until it does, and a takeover that could not be written
 * did not happen.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { UserFacingError } from '../../src/core/errors.js';
import type { InstanceIdentity } from '../../src/core/instance.js';
import { processStartTime } from '../../src/core/instance.js';
import type { JobRecord } from '../../src/core/job.js';
import type { JobStore } from '../../src/core/job-store.js';
import type { ChatSurface, ProviderOperation, VideoProvider } from '../../src/core/ports.js';
import type { DatabaseLock } from '../helpers/sqlite.js';
import { lockDatabase } from '../helpers/sqlite.js';
import { harness, scriptedProvider, tempStore } from './harness.js';

const HOST = 'boot-1/pid:[4026531836]';
/** An instance on this host whose process is gone (no such pid): taken over at once. */
const crashedA: InstanceIdentity = { id: 'A', host: HOST, pid: 2 ** 22 + 12345, started: '1' };
/** Instances elsewhere: only the lease tells whether they are alive. */
const elsewhere = (id: string, host: string): InstanceIdentity => ({ id, host, pid: 1, started: '100' });

const STORE_DOWN = "The bot couldn't save your request just now, so nothing was started. Try again in a minute.";
const MINUTE = 60_000;

/** Advances `clock` by `ms` in small steps, with real time in between for SQLite's I/O. */
async function advance(clock: ManualClock, ms: number, stepMs = 500) {
  for (let t = 0; t < ms; t += stepMs) {
    await clock.advance(stepMs);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Records how each `write` of `store` ended (an observer: the store itself still decides). */
function watchWrites(store: JobStore): string[] {
  const seen: string[] = [];
  const write = store.write.bind(store);
  (store as { write: JobStore['write'] }).write = (next, expected) =>
    write(next, expected).then(
      (r) => (seen.push(`${next.status}: ${r.ok ? 'ok' : 'conflict'}`), r),
      (err: Error) => (seen.push(`${next.status}: ${err.message.split(':')[0]}`), Promise.reject(err)),
    );
  return seen;
}

describe('the lock used to make the store fail', () => {
  it('makes every write fail with SQLITE_BUSY while reads still work, until released', async () => {
    const db = await tempStore();
    const job = { id: 'j1', version: 0, surface: 'test', conversation: 'c', requester: { id: 'u1' }, meta: {}, provider: 'aimlapi', status: 'queued', createdAt: 1, updatedAt: 1, attempts: { submit: 0, delivery: 0 } } as unknown as JobRecord;
    const v1 = await db.jobs.admit(job, { perUserActive: 5 });
    expect(v1.ok).toBe(true);

    const lock = await lockDatabase(db.file);
    await expect(db.jobs.write({ ...job, providerStatus: 'x' }, 1)).rejects.toThrow(/SQLITE_BUSY/);
    await expect(db.jobs.admit({ ...job, id: 'j2' }, { perUserActive: 5 })).rejects.toThrow(/SQLITE_BUSY/);
    await expect(db.jobs.putLease({ instance: 'A', expiresAt: 2 })).rejects.toThrow(/SQLITE_BUSY/);
    await expect(db.jobs.claimOrphans({ surfaces: ['test'], self: 'B', now: 1, deadOwners: [], limit: 10 })).rejects.toThrow(/SQLITE_BUSY/);
    await expect(db.jobs.putStats('k', { n: 1, mean: 1, variance: 0 })).rejects.toThrow(/SQLITE_BUSY/);
    expect(await db.jobs.get('j1')).toMatchObject({ version: 1, status: 'queued' });
    expect(await db.jobs.activeIds('test')).toEqual(['j1']);
    expect(await db.jobs.usage({ surface: 'test', requesterId: 'u1', day: '1970-01-01' })).toMatchObject({ active: 1 });

    await lock.release();
    expect(await db.jobs.write({ ...job, providerStatus: 'x' }, 1)).toMatchObject({ ok: true, job: { version: 2 } });
  });
});

describe('job service on a failing store', () => {
  it('refuses a new job while the store cannot be written, posts and submits nothing, and keeps every job it had', async () => {
    const first = await tempStore();
    const remote = new ManualClock(); // the provider's, and the restarted instance's
    const prov = scriptedProvider(remote);
    prov.renderMs = 60_000;
    const a = await harness({ store: first, clock: new ManualClock(), prov, identity: crashedA, config: { maxInFlight: 1 } });
    await a.service.start();
    const running = await a.submit('one', 'u1');
    const queued = [await a.submit('two', 'u2'), await a.submit('three', 'u3')];
    await a.until(async () => (await a.store.get(running.job.id))?.status === 'running', 10);
    expect(queued.map((q) => q.job.status)).toEqual(['queued', 'queued']);
    const ids = [running.job.id, ...queued.map((q) => q.job.id)];
    expect(prov.starts).toBe(1);

    const lock = await lockDatabase(first.file);
    try {
      await a.clock.advance(30_000); // heartbeats, polls and sweeps under the lock
      const posts = a.surf.log.filter((r) => r.op === 'post').length;
      // (Bounded: a submit that went ahead would wait on its next write for as long as the lock lasts.)
      let settled = false;
      const attempt = a.submit('four', 'u4').then(
        () => 'admitted',
        (err: unknown) => err,
      );
      void attempt.finally(() => (settled = true));
      for (let i = 0; !settled && i < 200; i++) await advance(a.clock, 250, 250);
      const refused = settled ? await attempt : 'still waiting';
      expect(refused).toBeInstanceOf(UserFacingError);
      expect(refused).toMatchObject({ code: 'store_unavailable', message: STORE_DOWN });
      await a.clock.advance(30_000);
      expect(a.surf.log.filter((r) => r.op === 'post')).toHaveLength(posts);
      expect(prov.starts).toBe(1);
      expect(prov.jobs.size).toBe(1);
      // Reads still work: every job is there, unfinished, as it was.
      expect(await a.store.activeIds('test')).toEqual(ids);
    } finally {
      await lock.release();
    }
    expect(await a.store.activeIds('test')).toEqual(ids);
    for (const id of ids) expect(await a.store.get(id)).toMatchObject({ owner: 'A' });

    // A dies here; the next process on this host resumes all three (the refused one was never stored).
    const b = await harness({ store: await tempStore({ dir: first.dir }), clock: remote, prov, identity: { id: 'B', host: HOST, pid: process.pid, started: processStartTime(process.pid)! } });
    expect(await b.service.start()).toBe(3);
    await b.until(() => b.finished.length === 3);
    expect(b.finished.sort()).toEqual(ids.map((id) => `${id}:delivered`).sort());
    expect(prov.starts).toBe(3); // the running one was not sent again
    expect(b.surf.uploads().map((u) => u.key).sort()).toEqual([...ids].sort());
    expect(await b.store.activeIds('test')).toEqual([]);
    await b.service.stop();
  });

  it('carries a job through a store outage right after submit: created once, delivered once', async () => {
    const db = await tempStore();
    const writes = watchWrites(db.jobs);
    const h = await harness({ store: db });
    let lock: DatabaseLock | undefined;
    const start = h.prov.provider.start.bind(h.prov.provider);
    h.prov.provider.start = async (req, ctx) => {
      const created = await start(req, ctx);
      lock = await lockDatabase(db.file); // the provider has the job; we can't write it down
      return created;
    };
    await h.service.start();
    const { job } = await h.submit();
    await h.until(() => lock !== undefined, 10);

    try {
      await advance(h.clock, 4 * MINUTE);
      // The write of the submit was tried again and again, and never landed; nothing resent.
      expect(writes.filter((w) => w === 'running: SQLITE_BUSY').length).toBeGreaterThanOrEqual(3);
      expect(await h.store.get(job.id)).toMatchObject({ status: 'submitting', attempts: { submit: 1 } });
      expect(h.prov.starts).toBe(1);
      expect(h.finished).toEqual([]);
    } finally {
      await lock!.release();
    }

    await h.until(() => h.finished.length > 0);
    expect(h.finished).toEqual([`${job.id}:delivered`]);
    expect(h.prov.starts).toBe(1);
    expect(h.surf.uploads().map((u) => u.key)).toEqual([job.id]);
    const stored = await h.store.get(job.id);
    expect(stored).toMatchObject({ status: 'delivered', operation: { id: 'gen-1' }, attempts: { submit: 1, delivery: 1 } });
    expect(await h.store.activeIds('test')).toEqual([]);
    // Nothing further happens later either.
    await advance(h.clock, 2 * MINUTE, 1000);
    expect(h.prov.starts).toBe(1);
    expect(h.surf.uploads()).toHaveLength(1);
    await h.service.stop();
  });

  it('does not deliver again when the write saying it was delivered fails', async () => {
    const db = await tempStore();
    const writes = watchWrites(db.jobs);
    const h = await harness({ store: db });
    let lock: DatabaseLock | undefined;
    const surface = h.surf.surface as { upload: ChatSurface['upload'] };
    const upload = surface.upload.bind(h.surf.surface);
    surface.upload = async (...args) => {
      const ref = await upload(...args);
      lock = await lockDatabase(db.file); // posted, but 'delivered' can't be written
      return ref;
    };
    await h.service.start();
    const { job } = await h.submit();
    await h.until(() => lock !== undefined);

    try {
      await advance(h.clock, 4 * MINUTE);
      expect(writes.filter((w) => w === 'delivered: SQLITE_BUSY').length).toBeGreaterThanOrEqual(3);
      expect(h.surf.uploads()).toHaveLength(1);
      expect(await h.store.get(job.id)).toMatchObject({ status: 'delivering', attempts: { delivery: 1 } });
      expect(h.finished).toEqual([]);
    } finally {
      await lock!.release();
    }

    await h.until(() => h.finished.length > 0);
    expect(h.finished).toEqual([`${job.id}:delivered`]);
    expect(writes.filter((w) => w.startsWith('delivered')).at(-1)).toBe('delivered: ok');
    const uploads = h.surf.uploads();
    expect(uploads).toHaveLength(1);
    expect(await h.store.get(job.id)).toMatchObject({ status: 'delivered', attempts: { delivery: 1 }, result: { deliveredAs: 'file', messageRef: uploads[0]!.ref } });
    await advance(h.clock, 2 * MINUTE, 1000);
    expect(h.surf.uploads()).toHaveLength(1);
    await h.service.stop();
  });

  it("takes nothing over while the store can't be written, even from an owner whose lease looks lapsed", async () => {
    const first = await tempStore();
    const clockA = new ManualClock();
    const prov = scriptedProvider(clockA);
    prov.renderMs = 10 * MINUTE;
    const a = await harness({ store: first, clock: clockA, prov, identity: elsewhere('A', 'host-a') });
    await a.service.start();
    const { job } = await a.submit();
    await a.until(async () => (await a.store.get(job.id))?.status === 'running', 10);

    // B: same file, same provider, its status checks counted; its sweeps observed.
    const bPolls: string[] = [];
    const bProvider: VideoProvider = {
      name: prov.provider.name,
      start: (req, ctx) => prov.provider.start(req, ctx),
      status: async (op: ProviderOperation, ctx) => {
        bPolls.push(op.id);
        return prov.provider.status(op, ctx);
      },
    };
    const bProv: typeof prov = Object.create(prov, { provider: { value: bProvider } });
    const bStore = await tempStore({ dir: first.dir });
    const claims: string[] = [];
    const claimOrphans = bStore.jobs.claimOrphans.bind(bStore.jobs);
    (bStore.jobs as { claimOrphans: JobStore['claimOrphans'] }).claimOrphans = (q) =>
      claimOrphans(q).then(
        (jobs) => (claims.push(`claimed ${jobs.length}`), jobs),
        (err: Error) => (claims.push(`failed: ${err.message.split(':')[0]}`), Promise.reject(err)),
      );
    const b = await harness({ store: bStore, clock: new ManualClock(clockA.now()), prov: bProv, identity: elsewhere('B', 'host-b') });
    expect(await b.service.start()).toBe(0); // A is alive
    expect(claims).toEqual(['claimed 0']);

    /** Both clocks on, side by side, with real time in between for the store's I/O. */
    const both = async (ms: number) => {
      for (let t = 0; t < ms; t += 500) {
        await a.clock.advance(500);
        await b.clock.advance(500);
        await new Promise((r) => setTimeout(r, 2));
      }
    };

    const lock = await lockDatabase(first.file);
    try {
      // Long enough for A's lease to lapse (A can't renew it) and for B's heartbeat to run many times.
      await both(3 * MINUTE);
      // A could not renew its lease: as stored, it has lapsed. B's own renewals failed too, so it
      // doesn't trust lapsed leases (no sweep), and any claim it tried could not be written.
      expect(await b.store.leasesOnHost('host-a', b.clock.now())).toEqual([]);
      expect(claims.slice(1).every((c) => c === 'failed: SQLITE_BUSY')).toBe(true);
      expect(await b.store.get(job.id)).toMatchObject({ owner: 'A', status: 'running' });
      expect(b.service.activeCount()).toBe(0);
      expect(bPolls).toEqual([]);
    } finally {
      await lock.release();
    }

    // A renews its lease at its next heartbeat; B trusts lapsed leases again only after a whole
    // lease period of working renewals (see outage-takeover.test.ts), by when A's is fresh.
    await a.until(async () => (await a.store.leasesOnHost('host-a', b.clock.now())).length > 0, 500, 2 * MINUTE);
    // ...and then keeps the job: B sweeps on and takes nothing; A finishes it.
    for (let i = 0; a.finished.length === 0 && i < 7200; i++) await both(500);
    expect(a.finished).toEqual([`${job.id}:delivered`]);
    expect(await a.store.get(job.id)).toMatchObject({ owner: 'A', status: 'delivered' });
    expect(prov.starts).toBe(1);
    expect(a.surf.uploads()).toHaveLength(1);
    expect(b.surf.log).toEqual([]);
    expect(bPolls).toEqual([]);
    expect(b.finished).toEqual([]);
    expect(claims.filter((c) => c.startsWith('claimed') && c !== 'claimed 0')).toEqual([]);
    await a.service.stop();
    await b.service.stop();
  });

  it('a takeover claim the store cannot carry out takes nothing, and is tried again later', async () => {
    // A crashed for real (its clock never moves again), so its job is B's to take, once the store lets it.
    const first = await tempStore();
    const clockA = new ManualClock();
    const clockB = new ManualClock(clockA.now());
    const prov = scriptedProvider(clockB); // the provider's time runs on with B's
    const a = await harness({ store: first, clock: clockA, prov, identity: elsewhere('A', 'host-a') });
    await a.service.start();
    const { job } = await a.submit();
    await a.until(async () => (await a.store.get(job.id))?.status === 'running', 10);

    // B's store: the database is locked the moment B's 6th renewal lands (B sweeps after every 3rd;
    // by the 6th, B has trusted the store for a lease period and A's lease has lapsed), so the claim
    // right after it fails.
    const bStore = await tempStore({ dir: first.dir });
    let renewals = 0;
    let lock: DatabaseLock | undefined;
    const claims: string[] = [];
    const jobs: JobStore = {
      ...bStore.jobs,
      putLease: async (l) => {
        await bStore.jobs.putLease(l);
        if (++renewals === 6) lock = await lockDatabase(first.file);
      },
      claimOrphans: (q) =>
        bStore.jobs.claimOrphans(q).then(
          (found) => (claims.push(`claimed ${found.length}`), found),
          (err: Error) => (claims.push(`failed: ${err.message.split(':')[0]}`), Promise.reject(err)),
        ),
    };
    const b = await harness({ store: { ...bStore, jobs }, clock: clockB, prov, identity: elsewhere('B', 'host-b') });
    expect(await b.service.start()).toBe(0); // A's lease is still fresh
    for (let i = 0; !claims.some((c) => c.startsWith('failed')) && i < 1000; i++) await advance(b.clock, 500);
    expect(claims.at(-1)).toBe('failed: SQLITE_BUSY');
    expect(b.service.activeCount()).toBe(0);
    expect(claims.slice(0, -1)).toEqual(['claimed 0']); // only the one at start, while A was fresh
    expect(await b.store.get(job.id)).toMatchObject({ owner: 'A', status: 'running' });
    await lock!.release();
    // Once B has had a working store for a lease period, its sweep takes the job and finishes it.
    await b.until(() => b.finished.length > 0, 500, 30 * MINUTE);
    expect(b.finished).toEqual([`${job.id}:delivered`]);
    expect(prov.starts).toBe(1);
    await b.service.stop();
  });
});
