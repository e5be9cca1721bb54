/**
 * Crash and restart: two service instances on one SQLite file, like two
 * processes. Instance A is abandoned mid-job (its clock never moves again, as if
 * killed); instance B starts, takes over and finishes exactly once.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import type { ChatSurface } from '../../src/core/ports.js';
import { openKeyv } from '../../src/store.js';
import { harness, scriptedProvider } from './harness.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

async function sharedDb() {
  const dir = mkdtempSync(join(tmpdir(), 'seedance-resume-'));
  const open = async () => {
    const { kv, close } = await openKeyv(undefined, dir);
    closers.push(close);
    return kv;
  };
  return { open };
}

/** Two instances: A (crashes) and B (restarts), sharing the provider on B's clock. */
async function pair(opts: { aliveA?: boolean | undefined } = {}) {
  const db = await sharedDb();
  const remote = new ManualClock();
  const prov = scriptedProvider(remote);
  prov.renderMs = 60_000;
  const a = harness({ kv: await db.open(), clock: new ManualClock(), prov, instanceId: 'hostA/111/aaaa', ownerAlive: () => undefined });
  const makeB = async () =>
    harness({ kv: await db.open(), clock: remote, prov, instanceId: 'hostA/222/bbbb', ownerAlive: (o) => (o.startsWith('hostA/111') ? opts.aliveA : undefined) });
  return { a, makeB, prov, remote };
}

const hang = () => new Promise<never>(() => {});

describe('restart', () => {
  it('resumes a running job without resubmitting and delivers it once', async () => {
    const { a, makeB, prov } = await pair({ aliveA: false });
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
    const stored = await b.store.get(job.id);
    expect(stored?.owner).toBe('hostA/222/bbbb');

    // A third start finds nothing to do: delivered exactly once.
    const c = await makeB();
    expect(await c.service.start()).toBe(0);
    await b.service.stop();
    await c.service.stop();
  });

  it('never resends a job that was mid-submit when the process died', async () => {
    const { a, makeB, prov } = await pair({ aliveA: false });
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
    expect(b.finished).toEqual([`${job.id}:failed`]);
    expect(startCalls).toBe(0);
    expect(b.surf.log.at(-1)!.message).toMatchObject({ kind: 'failed', text: expect.stringContaining('It was not sent again, to avoid paying twice') });
    await b.service.stop();
  });

  it('re-delivers a job that died mid-upload, with the same idempotency key', async () => {
    const { a, makeB } = await pair({ aliveA: false });
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
    const stored = await b.store.get(job.id);
    expect(stored?.attempts.delivery).toBe(2);
    await b.service.stop();
  });

  it('leaves a live owner alone and takes over once its lease lapses', async () => {
    const { a, makeB, prov } = await pair({ aliveA: undefined }); // other host: only the lease can tell
    await a.service.start(); // lease written with A's clock (same epoch as B's)
    const { job } = await a.submit();
    const b = await makeB();
    expect(await b.service.start()).toBe(0);
    await b.clock.advance(30_000);
    expect((await b.store.get(job.id))?.owner).toBe('hostA/111/aaaa');
    expect(prov.jobs.get('gen-1')!.statusCalls).toEqual([]);
    // A stops heart-beating (crashed); B's periodic sweep takes the job after the lease expires.
    await b.until(() => b.finished.length > 0, 1000);
    expect(b.finished).toEqual([`${job.id}:delivered`]);
    expect(prov.starts).toBe(1);
    await b.service.stop();
  });

  it('keeps queued jobs across a restart and submits them then', async () => {
    const { a, makeB, prov } = await pair({ aliveA: false });
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
  it('do not take over other runs\' orphaned jobs', async () => {
    const { a, makeB } = await pair({ aliveA: false });
    await a.service.start();
    const { job } = await a.submit();
    await a.until(async () => (await a.store.get(job.id))?.status === 'running', 10);
    const b = await makeB();
    expect(await b.service.start({ resume: false })).toBe(0);
    await b.clock.advance(10 * 60_000); // many heartbeats: no sweep
    expect((await b.store.get(job.id))?.owner).toBe('hostA/111/aaaa');
    expect(b.finished).toEqual([]);
    await b.service.stop();
  });
});

describe('ownership', () => {
  it('takes over a job only when its owner is gone', async () => {
    const { ownerGone } = await import('../../src/core/instance.js');
    const lease = (at: number | undefined) => async () => at;
    const opts = (alive: boolean | undefined, at: number | undefined) => ({ alive: () => alive, leaseOf: lease(at), now: 1000 });
    expect(await ownerGone(undefined, 'me', opts(true, 5000))).toBe(true);
    expect(await ownerGone('me', 'me', opts(true, 5000))).toBe(true);
    expect(await ownerGone('other', 'me', opts(true, undefined))).toBe(false); // alive on this host
    expect(await ownerGone('other', 'me', opts(false, 5000))).toBe(true); // dead on this host, lease or not
    expect(await ownerGone('other', 'me', opts(undefined, 5000))).toBe(false); // other host, fresh lease
    expect(await ownerGone('other', 'me', opts(undefined, 999))).toBe(true); // other host, lapsed lease
    expect(await ownerGone('other', 'me', opts(undefined, undefined))).toBe(true); // never heart-beat
  });
});
