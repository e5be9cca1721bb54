/**
 * The job service on the Redis store, with a real redis-server that fails for
 * real (SIGSTOP: it holds every connection and answers nothing), and two
 * instances sharing one database as two bot processes would: a job survives an
 * outage right after its submit, and the jobs of an instance that dies are
 * taken over by the other once its lease lapses; each is created once and
 * delivered once. And an instance cut off from Redis alone (a proxy that holds
 * its connection) stops polling before its lease can lapse, so a job the other
 * takes over is never polled by both.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import type { InstanceIdentity } from '../../src/core/instance.js';
import type { VideoProvider } from '../../src/core/ports.js';
import type { Store } from '../../src/store.js';
import { openStore } from '../../src/store.js';
import type { RedisServer } from '../helpers/redis.js';
import { startRedis } from '../helpers/redis.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { harness, scriptedProvider } from './harness.js';

const elsewhere = (id: string, host: string): InstanceIdentity => ({ id, host, pid: 1, started: '100' });
const MINUTE = 60_000;
const LEASE = MINUTE; // the harness's leaseMs

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});
const stores: Store[] = [];
afterEach(async () => {
  redis.resume();
  for (const s of stores.splice(0)) await s.close();
});

let prefixes = 0;
async function redisStore(prefix: string): Promise<Store> {
  const s = await openStore(redis.url({ prefix }), '', { commandTimeoutMs: 200 });
  stores.push(s);
  return s;
}

/** Advances `clocks` together by `ms` in steps, with real time in between for Redis. */
async function advance(clocks: ManualClock[], ms: number, stepMs = 500, realMs = 2) {
  for (let t = 0; t < ms; t += stepMs) {
    for (const c of clocks) await c.advance(stepMs);
    await new Promise((r) => setTimeout(r, realMs));
  }
}

it('carries a job through a Redis outage right after its submit: created once, delivered once', async () => {
  const db = await redisStore(`outage-${++prefixes}`);
  const writes: string[] = [];
  const write = db.jobs.write.bind(db.jobs);
  db.jobs.write = (next, expected) =>
    write(next, expected).then(
      (r) => (writes.push(`${next.status}: ${r.ok ? 'ok' : 'conflict'}`), r),
      (err: Error) => (writes.push(`${next.status}: failed`), Promise.reject(err)),
    );
  const h = await harness({ store: db });
  let paused = false;
  const start = h.prov.provider.start.bind(h.prov.provider);
  h.prov.provider.start = async (req, ctx) => {
    const created = await start(req, ctx);
    redis.pause(); // the provider has the job; we can't write it down
    paused = true;
    return created;
  };
  await h.service.start();
  const { job } = await h.submit();
  await h.until(() => paused, 10);

  // Real time passes too: each write waits for its command timeout before it fails.
  await advance([h.clock], 2 * MINUTE, 500, 10);
  expect(h.prov.starts).toBe(1);
  expect(h.finished).toEqual([]);
  // The write of the submit was tried again and again while Redis answered nothing.
  expect(writes.filter((w) => w === 'running: failed').length).toBeGreaterThanOrEqual(3);
  expect(writes).not.toContain('running: ok');
  redis.resume();

  await h.until(() => h.finished.length > 0);
  expect(h.finished).toEqual([`${job.id}:delivered`]);
  expect(h.prov.starts).toBe(1);
  expect(h.surf.uploads().map((u) => u.key)).toEqual([job.id]);
  expect(await h.store.get(job.id)).toMatchObject({ status: 'delivered', operation: { id: 'gen-1' }, attempts: { submit: 1, delivery: 1 } });
  expect(await h.store.activeIds('test')).toEqual([]);
  await advance([h.clock], 2 * MINUTE, 1000);
  expect(h.prov.starts).toBe(1);
  expect(h.surf.uploads()).toHaveLength(1);
  await h.service.stop();
});

it("takes over the jobs of an instance that died once its lease lapses, and not before: each created once, delivered once", async () => {
  const prefix = `takeover-${++prefixes}`;
  const clockA = new ManualClock();
  const remote = new ManualClock(clockA.now()); // the provider's
  const prov = scriptedProvider(remote);
  prov.renderMs = 5 * MINUTE;
  const aStore = await redisStore(prefix);
  const a = await harness({ store: aStore, clock: clockA, prov, identity: elsewhere('A', 'host-a') });
  await a.service.start();
  const ids: string[] = [];
  for (const user of ['u1', 'u2', 'u3']) ids.push((await a.submit(`a clip for ${user}`, user)).job.id);
  await a.until(async () => (await Promise.all(ids.map((id) => a.store.get(id)))).every((j) => j?.status === 'running'), 10);
  expect(prov.starts).toBe(3);

  const b = await harness({ store: await redisStore(prefix), clock: new ManualClock(clockA.now()), prov, identity: elsewhere('B', 'host-b') });
  expect(await b.service.start()).toBe(0); // A is alive

  // A dies: its clock stops and its connection drops, like a process killed with SIGKILL.
  await aStore.close();
  await advance([b.clock, remote], LEASE / 2);
  expect(b.service.activeCount()).toBe(0);
  expect((await b.store.get(ids[0]!))?.owner).toBe('A');

  // B's sweeps find A's lease lapsed and take its jobs.
  await advance([b.clock, remote], 2 * LEASE);
  for (let i = 0; b.finished.length < 3 && i < 2000; i++) await advance([b.clock, remote], 500);
  expect(b.finished.sort()).toEqual(ids.map((id) => `${id}:delivered`).sort());
  expect(prov.starts).toBe(3); // nothing submitted again
  expect(b.surf.uploads().map((u) => u.key).sort()).toEqual([...ids].sort());
  expect(a.surf.uploads()).toEqual([]);
  for (const id of ids) expect(await b.store.get(id)).toMatchObject({ status: 'delivered', owner: 'B', attempts: { submit: 1, delivery: 1 } });
  await b.service.stop();
});

it('an instance cut off from Redis stops polling before its lease lapses: the one that takes its jobs over is the only one polling them', async () => {
  const prefix = `partition-${++prefixes}`;
  const proxy = await startTcpProxy({ port: redis.port });
  try {
    const clockA = new ManualClock();
    const clockB = new ManualClock(clockA.now());
    const remote = new ManualClock(clockA.now()); // the provider's
    const prov = scriptedProvider(remote);
    prov.renderMs = 4 * MINUTE;
    const polls: { by: string; op: string; at: number }[] = [];
    /** The one provider, as each instance calls it (recording who polled what, when). */
    const via = (by: string): typeof prov => {
      const status: VideoProvider['status'] = (op, ctx) => (polls.push({ by, op: op.id, at: remote.now() }), prov.provider.status(op, ctx));
      return Object.assign(Object.create(prov) as typeof prov, { provider: { ...prov.provider, status } });
    };
    const aStore = await openStore(`redis://127.0.0.1:${proxy.port}/0?prefix=${prefix}`, '', { commandTimeoutMs: 200 });
    stores.push(aStore);
    const a = await harness({ store: aStore, clock: clockA, prov: via('A'), identity: elsewhere('A', 'host-a') });
    await a.service.start();
    const ids: string[] = [];
    for (const user of ['u1', 'u2']) ids.push((await a.submit(`a clip for ${user}`, user)).job.id);
    await a.until(async () => (await Promise.all(ids.map((id) => a.store.get(id)))).every((j) => j?.status === 'running'), 10);
    const b = await harness({ store: await redisStore(prefix), clock: clockB, prov: via('B'), identity: elsewhere('B', 'host-b') });
    expect(await b.service.start()).toBe(0); // A is alive
    await advance([clockA, clockB, remote], 20_000);
    expect(polls.filter((p) => p.by === 'A').length).toBeGreaterThan(0);

    // A is cut off from Redis but still runs, and still reaches the provider.
    proxy.hold();
    const cutAt = remote.now();
    await advance([clockA, clockB, remote], 3 * LEASE, 500, 5);
    // B took A's jobs over once A's lease lapsed (at most one lease after the cut).
    for (const id of ids) expect((await b.store.get(id))?.owner).toBe('B');
    const firstByB = Math.min(...polls.filter((p) => p.by === 'B').map((p) => p.at));
    const lastByA = Math.max(...polls.filter((p) => p.by === 'A').map((p) => p.at));
    expect(firstByB).toBeGreaterThan(cutAt);
    // A stopped before B began (it used to poll on through the cut, alongside B).
    expect(lastByA).toBeLessThan(firstByB);
    expect(lastByA - cutAt).toBeLessThan((2 * LEASE) / 3 + 1000);

    // A's link comes back: it reads its jobs again, finds them B's, and lets go; it never polls them again.
    proxy.release();
    await advance([clockA, clockB, remote], LEASE, 500, 5);
    for (let i = 0; b.finished.length < 2 && i < 2000; i++) await advance([clockA, clockB, remote], 500, 500, 2);
    expect(b.finished.sort()).toEqual(ids.map((id) => `${id}:delivered`).sort());
    expect(a.service.activeCount()).toBe(0);
    expect(polls.filter((p) => p.by === 'A').map((p) => p.at).every((at) => at < firstByB)).toBe(true);
    expect(prov.starts).toBe(2);
    expect(a.surf.uploads()).toEqual([]);
    expect(b.surf.uploads().map((u) => u.key).sort()).toEqual([...ids].sort());
    await a.service.stop();
    await b.service.stop();
  } finally {
    proxy.release();
    await proxy.close();
  }
}, 120_000);
