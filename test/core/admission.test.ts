/**
 * Admission is one atomic reservation in the store: parallel requests can't all
 * pass a limit, daily limits apply everywhere (a place can add its own), and a
 * job that was never submitted gives its reservation back.
 */
import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/core/errors.js';
import { harness, tempStore } from './harness.js';

const place = { key: 'test:guild:1', dailyLimit: 2, label: 'this server' };

describe.each([
  ['in memory', async () => undefined],
  ['on SQLite', async () => tempStore()],
])('admission (%s)', (_name, store) => {
  it('lets exactly the allowed number of parallel requests through', async () => {
    const h = await harness({ store: await store(), config: { maxPerUser: 2, maxQueuedPerUser: 3 } });
    await h.service.start();
    const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => h.submit(`p${i}`)));
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok).toHaveLength(5);
    expect(refused).toHaveLength(7);
    for (const r of refused) expect(String(r.reason)).toMatch(/You have \d jobs? running( and \d waiting)?\. Wait for one to finish, then try again\./);
    expect(await h.store.activeIds('test')).toHaveLength(5);
    // Nothing was posted for the refused ones.
    expect(h.surf.log.filter((r) => r.op === 'post')).toHaveLength(5);
  });

  it("counts a place's daily limit atomically, for parallel requests too", async () => {
    const h = await harness({ store: await store(), config: { maxPerUser: 10, maxQueuedPerUser: 10 } });
    await h.service.start();
    const submit = (i: number) => h.service.submit({ input: { prompt: `p${i}` }, surface: 'test', conversation: 'test:c', requester: { id: 'u1' }, place });
    const results = await Promise.allSettled([0, 1, 2, 3, 4].map(submit));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    const reason = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!.reason as Error;
    expect(reason.message).toBe("You've made 2 videos today; this server allows 2 a day. Try again tomorrow (UTC).");
    // Elsewhere (a DM, no place) the server's limit does not apply.
    await expect(h.service.submit({ input: { prompt: 'dm' }, surface: 'test', conversation: 'test:dm', requester: { id: 'u1' } })).resolves.toBeDefined();
  });

  it('applies the per-user daily limit everywhere, and starts again the next UTC day', async () => {
    const h = await harness({ store: await store(), config: { dailyPerUser: 2 } });
    await h.service.start();
    await h.submit('one', 'u1', 'test:dm');
    await h.service.submit({ input: { prompt: 'two' }, surface: 'test', conversation: 'test:c', requester: { id: 'u1' }, place: { ...place, dailyLimit: 0 } });
    await h.until(() => h.finished.length === 2);
    await expect(h.submit('three', 'u1', 'test:dm')).rejects.toThrow("You've made 2 videos today; this bot allows 2 a day. Try again tomorrow (UTC).");
    await expect(h.service.checkAdmission({ surface: 'test', requesterId: 'u1' })).rejects.toThrow('this bot allows 2 a day');
    await expect(h.submit('other person', 'u2')).resolves.toBeDefined();
    await h.clock.advance(24 * 3_600_000);
    await expect(h.submit('tomorrow', 'u1')).resolves.toBeDefined();
  });

  it('gives the reservation back when nothing was submitted (cancelled while queued, refused by the provider)', async () => {
    const h = await harness({ store: await store(), config: { dailyPerUser: 2, maxPerUser: 1 } });
    await h.service.start();
    await h.submit('a'); // renders for 30 s and holds the one slot
    const queued = await h.submit('b');
    expect(queued.job.status).toBe('queued');
    await h.service.cancel(queued.job.id, { id: 'u1' });
    await h.until(() => h.finished.length === 2);
    h.prov.startErrors.push(new ProviderError('out_of_credits', "You've run out of credits", { provider: 'aimlapi', status: 403, notCreated: true, retryable: false }));
    const refusedByProvider = await h.submit('c');
    await h.until(() => h.finished.length === 3);
    expect((await h.store.get(queued.job.id))?.released).toBe(true);
    expect((await h.store.get(refusedByProvider.job.id))).toMatchObject({ status: 'failed', released: true });
    // Only 'a' counts: one more today, then no more.
    await h.submit('d');
    await h.until(() => h.finished.length === 4);
    await expect(h.submit('e')).rejects.toThrow('this bot allows 2 a day');
  });

  it('refuses when the queue is full', async () => {
    const h = await harness({ store: await store(), config: { maxInFlight: 1, maxQueueLength: 2 } });
    await h.service.start();
    await h.submit('a', 'u1');
    await h.submit('b', 'u2');
    await h.submit('c', 'u3');
    await expect(h.submit('d', 'u4')).rejects.toThrow('The queue is full right now (2 videos waiting). Try again in a few minutes.');
  });
});
