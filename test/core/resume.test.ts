/**
 * Crash and restart: two service instances on one SQLite file, like two
 * processes. Instance A is abandoned mid-job (its clock never moves again, so it
 * never renews its lease, as if killed); instance B starts, takes over and
 * finishes exactly once.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import type { InstanceIdentity } from '../../src/core/instance.js';
import { crashedOnThisHost, processStartTime } from '../../src/core/instance.js';
import type { ChatSurface } from '../../src/core/ports.js';
import { harness, scriptedProvider, tempStore } from './harness.js';

const HOST = 'boot-1/pid:[4026531836]';
/** An instance on this host whose process is gone (no such pid). */
const crashedA: InstanceIdentity = { id: 'A', host: HOST, pid: 2 ** 22 + 12345, started: '1' };
/** An instance on this host that is this very process. */
const liveB = (): InstanceIdentity => ({ id: 'B', host: HOST, pid: process.pid, started: processStartTime(process.pid)! });
/** Instances elsewhere (other hosts, or containers with their own pid namespace): only the lease can tell. */
const elsewhere = (id: string, host: string): InstanceIdentity => ({ id, host, pid: 1, started: '100' });

/** Two instances sharing the provider (on B's clock) and one database file. */
async function pair(a: InstanceIdentity, b: InstanceIdentity) {
  const first = await tempStore();
  const remote = new ManualClock();
  const prov = scriptedProvider(remote);
  prov.renderMs = 60_000;
  const A = await harness({ store: first, clock: new ManualClock(), prov, identity: a });
  const makeB = async () => harness({ store: await tempStore({ dir: first.dir }), clock: remote, prov, identity: b });
  return { a: A, makeB, prov, remote };
}

const hang = () => new Promise<never>(() => {});

describe('restart', () => {
  it('resumes a running job of a crashed process at once, without resubmitting, and delivers it once', async () => {
    const { a, makeB, prov } = await pair(crashedA, liveB());
    await a.service.start();
    const { job } = await a.submit();
    await a.until(async () => (await a.store.get(job.id))?.status === 'running');
    await a.clock.advance(20_000); // A polls a few times, then "dies"

    const b = await makeB();
    expect(await b.service.start()).toBe(1);
    await b.until(() => b.finished.length > 0);
    expect(b.finished).toEqual([`${job.id}:delivered`]);
    expect(prov.starts).toBe(1);
    expect(b.surf.uploads()).toHaveLength(1);
    // Progress edits go to the message A posted.
    expect(b.surf.edits().every((e) => e.ref === job.progressMessage)).toBe(true);
    expect((await b.store.get(job.id))?.owner).toBe('B');

    // Another start finds nothing to do: delivered exactly once.
    const c = await makeB();
    expect(await c.service.start()).toBe(0);
    await b.service.stop();
    await c.service.stop();
  });

  it('never resends a job that was mid-submit when the process died, and says it may be charged', async () => {
    const { a, makeB, prov } = await pair(crashedA, liveB());
    prov.provider.start = hang; // A dies while the POST is in flight
    await a.service.start();
    const { job } = await a.submit();
    await a.until(async () => (await a.store.get(job.id))?.status === 'submitting', 10);

    const b = await makeB();
    let startCalls = 0;
    prov.provider.start = async () => {
      startCalls++;
      return hang();
    };
    await b.service.start();
    await b.until(() => b.finished.length > 0);
    expect(b.finished).toEqual([`${job.id}:submit_unknown`]);
    expect(startCalls).toBe(0);
    expect(b.surf.log.at(-1)!.message).toMatchObject({ kind: 'failed', text: expect.stringContaining('It was not sent again, to avoid paying twice; it may have been charged') });
    await b.service.stop();
  });

  it('re-delivers a job that died mid-upload, with the same idempotency key', async () => {
    const { a, makeB } = await pair(crashedA, liveB());
    (a.surf.surface as { upload: ChatSurface['upload'] }).upload = hang;
    a.prov.renderMs = 1000;
    await a.service.start();
    const { job } = await a.submit();
    // The provider runs on B's clock: once A has submitted, let the render finish there;
    // then A polls and starts delivering.
    await a.until(async () => (await a.store.get(job.id))?.status === 'running', 10);
    const b = await makeB();
    await b.clock.advance(5000);
    await a.until(async () => (await a.store.get(job.id))?.status === 'delivering');
    expect(b.surf.uploads()).toHaveLength(0);

    await b.service.start();
    await b.until(() => b.finished.length > 0);
    expect(b.finished).toEqual([`${job.id}:delivered`]);
    expect(b.surf.uploads().map((u) => u.key)).toEqual([job.id]);
    // Each attempt was recorded before its upload: A's (cut short) and B's.
    expect((await b.store.get(job.id))?.attempts.delivery).toBe(2);
    await b.service.stop();
  });

  it('leaves a live owner on another host alone and takes over once its lease lapses', async () => {
    const { a, makeB, prov } = await pair(elsewhere('A', 'host-a'), elsewhere('B', 'host-b'));
    await a.service.start(); // lease written with A's clock (same epoch as B's)
    const { job } = await a.submit();
    const b = await makeB();
    expect(await b.service.start()).toBe(0);
    await b.clock.advance(30_000);
    expect((await b.store.get(job.id))?.owner).toBe('A');
    // A stops heart-beating (crashed); B's periodic sweep takes the job after the lease expires.
    await b.until(() => b.finished.length > 0, 1000);
    expect(b.finished).toEqual([`${job.id}:delivered`]);
    expect(prov.starts).toBe(1);
    await b.service.stop();
  });

  it('never takes a job from a live instance with the same pid in another container (every container is pid 1)', async () => {
    // Same hostname, same pid: before, one declared the other dead. Now each has its own pid namespace.
    const { a, makeB } = await pair(elsewhere('A', 'boot-1/pid:[1001]'), elsewhere('B', 'boot-1/pid:[1002]'));
    await a.service.start();
    const { job } = await a.submit();
    const b = await makeB();
    expect(await b.service.start()).toBe(0);
    // Within A's lease (60 s) B sweeps once and takes nothing.
    await b.clock.advance(59_000);
    expect((await b.store.get(job.id))?.owner).toBe('A');
    expect(b.finished).toEqual([]);
    await b.service.stop();
  });

  it('keeps queued jobs across a restart and submits them then', async () => {
    const { a, makeB, prov } = await pair(crashedA, liveB());
    a.config.maxInFlight = 0; // nothing may be submitted before the crash
    await a.service.start();
    const { job } = await a.submit();
    expect(job.status).toBe('queued');
    const b = await makeB();
    await b.service.start();
    await b.until(() => b.finished.length > 0);
    expect(b.finished).toEqual([`${job.id}:delivered`]);
    expect(prov.starts).toBe(1);
    await b.service.stop();
  });
});

describe('one-shot runs', () => {
  it("do not take over other runs' orphaned jobs", async () => {
    const { a, makeB } = await pair(crashedA, liveB());
    await a.service.start();
    const { job } = await a.submit();
    await a.until(async () => (await a.store.get(job.id))?.status === 'running', 10);
    const b = await makeB();
    expect(await b.service.start({ resume: false })).toBe(0);
    await b.clock.advance(10 * 60_000); // many heartbeats: no sweep
    expect((await b.store.get(job.id))?.owner).toBe('A');
    expect(b.finished).toEqual([]);
    await b.service.stop();
  });
});

describe('who is dead', () => {
  const me = liveB();
  const lease = (over: Partial<{ instance: string; host: string; pid: number; started: string }>) => ({ instance: 'X', expiresAt: Infinity, host: HOST, pid: 4242, started: '77', ...over });

  it('only a process gone from this kernel and pid namespace counts as crashed', () => {
    const startTimeOf = (pid: number) => (pid === 4242 ? '77' : pid === 4343 ? '99' : undefined);
    expect(crashedOnThisHost(lease({}), me, startTimeOf)).toBe(false); // running
    expect(crashedOnThisHost(lease({ pid: 5555 }), me, startTimeOf)).toBe(true); // no such process
    expect(crashedOnThisHost(lease({ pid: 4343 }), me, startTimeOf)).toBe(true); // pid reused by a later process
    expect(crashedOnThisHost(lease({ pid: 5555, host: 'boot-1/pid:[999]' }), me, startTimeOf)).toBe(false); // another pid namespace
    expect(crashedOnThisHost(lease({ pid: 5555, instance: 'B' }), me, startTimeOf)).toBe(false); // ourselves
    expect(crashedOnThisHost(lease({ pid: 5555 }), { ...me, host: undefined }, startTimeOf)).toBe(false); // no /proc here
  });

  it('two instances in one process (same pid and start time) are both alive', () => {
    expect(crashedOnThisHost(lease({ pid: process.pid, started: processStartTime(process.pid)! }), me)).toBe(false);
  });
});
