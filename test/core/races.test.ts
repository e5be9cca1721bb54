/**
 * The lifecycle under races and crashes, on a manual clock: a cancel while the
 * create request is in flight, a cancel while a status check that will say
 * "completed" is in flight, and a process that dies right after each step it
 * persisted.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import type { InstanceIdentity } from '../../src/core/instance.js';
import { processStartTime } from '../../src/core/instance.js';
import type { JobStatus } from '../../src/core/job.js';
import type { JobStore } from '../../src/core/job-store.js';
import type { ProviderStatus, VideoProvider } from '../../src/core/ports.js';
import { openStore } from '../../src/store.js';
import { harness, scriptedProvider } from './harness.js';

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('cancel races', () => {
  it('a cancel during the submit takes effect when the provider answers: never polled, never shown as running again', async () => {
    const h = await harness();
    const answer = deferred<Awaited<ReturnType<VideoProvider['start']>>>();
    const realStart = h.prov.provider.start.bind(h.prov.provider);
    let started = false;
    h.prov.provider.start = async (req, ctx) => {
      started = true;
      const real = await realStart(req, ctx); // the provider made the job (and will charge)
      await answer.promise;
      return real;
    };
    await h.service.start();
    const { job } = await h.submit();
    await h.until(() => started, 10);
    const during = await h.service.cancel(job.id, { id: 'u1' });
    expect(during.status).toBe('submitting');
    expect(during.cancelRequested?.by).toBe('u1');

    answer.resolve({ operation: { provider: 'aimlapi', id: 'gen-1' } });
    await h.until(() => h.finished.length > 0, 10);
    expect(h.finished).toEqual([`${job.id}:cancelled`]);
    const told = h.surf.log.at(-1)!;
    expect(told).toMatchObject({ op: 'edit', ref: job.progressMessage, message: { kind: 'cancelled', text: 'Cancelled. AIML API had already accepted the job (gen-1), so it may still finish it and charge for it.' } });
    const stored = await h.store.get(job.id);
    expect(stored).toMatchObject({ status: 'cancelled' });

    await h.clock.advance(10 * 60_000);
    expect(h.prov.jobs.get('gen-1')!.statusCalls).toEqual([]);
    expect(h.surf.log.at(-1)).toBe(told); // nothing edited back to progress
    expect(h.surf.uploads()).toHaveLength(0);
    expect((await h.store.get(job.id))?.status).toBe('cancelled');
  });

  it('a cancel while a status check is in flight wins over the "completed" it returns', async () => {
    const h = await harness();
    h.prov.renderMs = 10_000;
    const gate = deferred<void>();
    let checking = false;
    const realStatus = h.prov.provider.status.bind(h.prov.provider);
    h.prov.provider.status = async (op, ctx): Promise<ProviderStatus> => {
      const s = await realStatus(op, ctx);
      if (s.state !== 'completed') return s;
      checking = true;
      await gate.promise;
      return s;
    };
    await h.service.start();
    const { job } = await h.submit();
    await h.until(() => checking, 250);
    await h.service.cancel(job.id, { id: 'u1' });
    gate.resolve();
    await h.clock.advance(60_000);
    expect(h.finished).toEqual([`${job.id}:cancelled`]);
    expect(h.fetch.calls).toEqual([]);
    expect(h.surf.uploads()).toHaveLength(0);
    expect((await h.store.get(job.id))?.status).toBe('cancelled');
    expect(h.surf.log.at(-1)!.message).toMatchObject({ kind: 'cancelled' });
  });

  it('a cancel once delivery has begun is refused with a clear message', async () => {
    const h = await harness();
    const upload = deferred<void>();
    const realUpload = h.surf.surface.upload.bind(h.surf.surface);
    let uploading = false;
    h.surf.surface.upload = async (...args) => {
      uploading = true;
      await upload.promise;
      return realUpload(...args);
    };
    await h.service.start();
    const { job } = await h.submit();
    await h.until(() => uploading);
    await expect(h.service.cancel(job.id, { id: 'u1' })).rejects.toThrow('That video is already being delivered.');
    upload.resolve();
    await h.until(() => h.finished.length > 0);
    expect(h.finished).toEqual([`${job.id}:delivered`]);
  });
});

/** Makes every call of `target` hang once `dead()` is true, as calls of a killed process never return. */
function killable<T extends object>(target: T, dead: () => boolean): T {
  return new Proxy(target, {
    get(obj, key, receiver) {
      const v = Reflect.get(obj, key, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => (dead() ? new Promise(() => {}) : (v as (...a: unknown[]) => unknown).apply(obj, args));
    },
  });
}

describe('a crash right after each persisted step', () => {
  const A: InstanceIdentity = { id: 'A', host: 'h/pid:[1]', pid: 2 ** 22 + 777, started: '1' };
  const B = (): InstanceIdentity => ({ id: 'B', host: 'h/pid:[1]', pid: process.pid, started: processStartTime(process.pid)! });

  it.each<[JobStatus | 'admitted', string]>([
    // Admitted, then dead before the first message was confirmed: the user saw nothing, so the
    // job is dropped (nothing submitted, its admission released) rather than run behind their back.
    ['admitted', 'failed'],
    // The first message is recorded (the job waits as "queued"): it runs after the restart.
    ['queued', 'delivered'],
    ['submitting', 'submit_unknown'],
    ['running', 'delivered'],
    ['completed', 'delivered'],
    ['delivering', 'delivered'],
  ])('after "%s" is stored, the next instance finishes the job exactly once (%s)', async (crashAt, outcome) => {
    const shared = await openStore('memory:', '');
    let dead = false;
    // A dies the moment the write that records `crashAt` has landed.
    const store: JobStore = killable(
      {
        ...shared.jobs,
        async write(next, expected) {
          const r = await shared.jobs.write(next, expected);
          if (r.ok && next.status === crashAt) dead = true;
          return r;
        },
        async admit(job, limits) {
          const r = await shared.jobs.admit(job, limits);
          if (r.ok && crashAt === 'admitted') dead = true;
          return r;
        },
      },
      () => dead,
    );
    const remote = new ManualClock();
    const prov = scriptedProvider(remote);
    prov.renderMs = 20_000;
    // A's view of the (shared) provider dies with A; B's does not.
    const provA = Object.assign(Object.create(prov) as typeof prov, { provider: killable(prov.provider, () => dead) });
    // Nothing may be submitted before the crash at "queued": the job has to wait for a slot.
    const a = await harness({ store: { ...shared, jobs: store }, clock: remote, prov: provA, identity: A, ...(crashAt === 'queued' ? { config: { maxInFlight: 0 } } : {}) });
    a.surf.surface.upload = killable({ upload: a.surf.surface.upload }, () => dead).upload;
    a.surf.surface.edit = killable({ edit: a.surf.surface.edit }, () => dead).edit;
    a.surf.surface.post = killable({ post: a.surf.surface.post }, () => dead).post;
    await a.service.start();
    const submitting = a.submit().catch(() => undefined);
    await a.until(() => dead, 250);

    const b = await harness({ store: shared, clock: remote, prov, identity: B() });
    const startsBeforeB = prov.starts;
    await b.service.start();
    await b.until(() => b.finished.length > 0, 250);
    void submitting;
    const [id] = b.finished[0]!.split(':');
    expect(b.finished).toEqual([`${id}:${outcome}`]);
    // Created once; a create that may have been in flight when A died is not resent.
    expect(prov.starts).toBe(outcome === 'delivered' ? 1 : 0);
    if (crashAt !== 'queued' && crashAt !== 'admitted') expect(prov.starts).toBe(startsBeforeB);
    if (crashAt === 'admitted') expect(await shared.jobs.get(id!)).toMatchObject({ status: 'failed', released: true, error: { code: 'not_announced' } });
    const uploads = [...a.surf.uploads(), ...b.surf.uploads()];
    expect(uploads.map((u) => u.key)).toEqual(outcome === 'delivered' ? [id] : []);
    expect(await shared.jobs.activeIds('test')).toEqual([]);
  });
});
