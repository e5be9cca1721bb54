/**
 * A store outage longer than the lease: every instance's lease lapses in the
 * store while its owner is alive and only unable to renew. When the store comes
 * back, another instance's sweep may come before the owner's next renewal; it
 * must not take the job (that paid job would end as "submit unknown", or its
 * video would be uploaded twice). A real SQLite lock makes the store fail.
 */
import { expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import type { InstanceIdentity } from '../../src/core/instance.js';
import type { ChatSurface } from '../../src/core/ports.js';
import type { DatabaseLock } from '../helpers/sqlite.js';
import { lockDatabase } from '../helpers/sqlite.js';
import { harness, scriptedProvider, tempStore } from './harness.js';

const elsewhere = (id: string, host: string): InstanceIdentity => ({ id, host, pid: 1, started: '100' });
const MINUTE = 60_000;
const LEASE = MINUTE; // the harness's leaseMs: renewals every 20 s, sweeps every 60 s
const tick = () => new Promise((r) => setTimeout(r, 2));

for (const where of ['submit', 'upload'] as const) {
  it(`after an outage right after the ${where}, a sweep that comes before the owner's renewal takes nothing`, async () => {
    const first = await tempStore();
    const clockA = new ManualClock();
    const prov = scriptedProvider(clockA);
    const a = await harness({ store: first, clock: clockA, prov, identity: elsewhere('A', 'host-a') });
    let lock: DatabaseLock | undefined;
    if (where === 'submit') {
      const start = prov.provider.start.bind(prov.provider);
      prov.provider.start = async (req, ctx) => {
        const r = await start(req, ctx);
        lock = await lockDatabase(first.file);
        return r;
      };
    } else {
      const s = a.surf.surface as { upload: ChatSurface['upload'] };
      const up = s.upload.bind(a.surf.surface);
      s.upload = async (...args) => {
        const r = await up(...args);
        lock = await lockDatabase(first.file);
        return r;
      };
    }
    // B's heartbeats, counted: it renews every third of the lease and sweeps on every third beat.
    const bStore = await tempStore({ dir: first.dir });
    let beats = 0;
    const putLease = bStore.jobs.putLease.bind(bStore.jobs);
    const b = await harness({
      store: { ...bStore, jobs: { ...bStore.jobs, putLease: (l) => (beats++, putLease(l)) } },
      clock: new ManualClock(clockA.now()),
      prov,
      identity: elsewhere('B', 'host-b'),
    });
    await a.service.start();
    await b.service.start();
    const { job } = await a.submit();
    const both = async (ms: number) => {
      for (let t = 0; t < ms; t += 500) {
        await a.clock.advance(500);
        await b.clock.advance(500);
        await tick();
      }
    };
    for (let i = 0; !lock && i < 2000; i++) await both(500);
    await both(3 * MINUTE); // both keep trying; A's lease lapses in the store
    // End the outage just before a beat of B's that sweeps (its 3rd, 6th, … beat).
    for (let i = 0; beats % 3 !== 2 && i < 1000; i++) await both(500);
    await new Promise((r) => setTimeout(r, 200)); // let writes in flight fail
    await lock!.release();
    // Only B runs for a third of the lease (the longest a live A takes to renew): its sweep falls in it.
    for (let t = 0; t < LEASE / 3 - 1000; t += 500) {
      await b.clock.advance(500);
      await tick();
    }
    expect(b.service.activeCount()).toBe(0);
    expect((await a.store.get(job.id))!.owner).toBe('A');
    // Then both run on: A renews and finishes its job; B never takes it.
    for (let i = 0; b.finished.length + a.finished.length === 0 && i < 4000; i++) await both(500);
    await both(2 * MINUTE);
    const stored = (await a.store.get(job.id))!;
    expect(stored).toMatchObject({ owner: 'A', status: 'delivered' });
    expect(prov.starts).toBe(1);
    expect(a.surf.uploads().length + b.surf.uploads().length).toBe(1);
    expect(b.finished).toEqual([]);
    await a.service.stop();
    await b.service.stop();
  });
}
