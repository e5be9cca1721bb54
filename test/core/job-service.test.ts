import { describe, expect, it } from 'vitest';
import { ProviderError, RateLimitError, UserFacingError, ValidationError } from '../../src/core/errors.js';
import { harness } from './harness.js';

describe('job service: the happy path', () => {
  it('submits, polls, shows progress, delivers once and forgets the job', async () => {
    const h = await harness();
    await h.service.start();
    const { job } = await h.submit();
    expect(h.surf.kinds()[0]).toBe('post:progress');
    await h.until(() => h.finished.length > 0);
    expect(h.finished).toEqual([`${job.id}:delivered`]);
    expect(h.prov.starts).toBe(1);
    const uploads = h.surf.uploads();
    expect(uploads).toHaveLength(1);
    expect(uploads[0]!.key).toBe(job.id);
    expect(uploads[0]!.message).toMatchObject({ kind: 'video', bytes: 2048, creditsUsed: 120000, job: { seed: job.request.seed, modelAlias: 'lite', resolution: '720p' } });
    // The progress message ends as a short "done" note next to the video.
    expect(h.surf.log.at(-1)).toMatchObject({ op: 'edit', ref: job.progressMessage, message: { kind: 'done', deliveredAs: 'file' } });
    const stored = await h.store.get(job.id);
    expect(stored).toMatchObject({ status: 'delivered', result: { deliveredAs: 'file', creditsUsed: 120000 } });
    expect(await h.store.activeIds('test')).toEqual([]);
    // Render time was learned for the next estimate.
    const stats = await h.store.getStats('aimlapi/seedance-1-0-lite-t2v|720p|5s');
    expect(stats?.n).toBe(1);
    await h.service.stop();
  });

  it('rejects bad input before anything is stored or submitted', async () => {
    const h = await harness();
    await h.service.start();
    await expect(h.service.submit({ input: { prompt: 'x', aspectRatio: '5:4' }, surface: 'test', conversation: 'test:c', requester: { id: 'u' } })).rejects.toBeInstanceOf(ValidationError);
    expect(h.prov.starts).toBe(0);
    expect(h.surf.log).toHaveLength(0);
    expect(await h.store.activeIds('test')).toEqual([]);
  });

  it('reports a provider-side failure in place of the progress message', async () => {
    const h = await harness();
    h.prov.outcome = 'fail';
    await h.service.start();
    const { job } = await h.submit();
    await h.until(() => h.finished.length > 0);
    expect(h.finished).toEqual([`${job.id}:failed`]);
    const last = h.surf.log.at(-1)!;
    expect(last).toMatchObject({ op: 'edit', ref: job.progressMessage, message: { kind: 'failed', text: "The video couldn't be made: sensitive content" } });
  });
});

describe('job service: limits and queue', () => {
  it('caps jobs per user, queues the next and refuses beyond the queue', async () => {
    const h = await harness({ config: { maxPerUser: 1, maxQueuedPerUser: 1 } });
    await h.service.start();
    const first = await h.submit('one');
    expect(first.queuePosition).toBeUndefined();
    const second = await h.submit('two');
    expect(second.job.status).toBe('queued');
    expect(second.queuePosition).toBe(1);
    const third = h.submit('three');
    await expect(third).rejects.toThrow(new UserFacingError('too_many_jobs', 'You have 1 job running and 1 waiting. Wait for one to finish, then try again.'));
    // Another user is not affected.
    expect((await h.submit('other', 'u2')).queuePosition).toBeUndefined();
    await h.until(() => h.finished.length === 3);
    expect(h.prov.starts).toBe(3);
    // The queued job was submitted only after the first one finished.
    const [j1, j2] = [...h.prov.jobs.values()].filter((j) => j.prompt !== 'other');
    expect(j2!.startedAt).toBeGreaterThanOrEqual(j1!.startedAt + j1!.renderMs);
  });

  it('answers the admission question before anything is posted', async () => {
    const h = await harness({ config: { maxPerUser: 1, maxQueuedPerUser: 0 } });
    await h.service.start();
    await expect(h.service.checkAdmission({ surface: 'test', requesterId: 'u1' })).resolves.toBeUndefined();
    await h.submit('one');
    await expect(h.service.checkAdmission({ surface: 'test', requesterId: 'u1' })).rejects.toThrow('You have 1 job running. Wait for one to finish, then try again.');
    await expect(h.service.checkAdmission({ surface: 'test', requesterId: 'u2' })).resolves.toBeUndefined();
  });

  it('holds jobs beyond the global cap and shows their queue position', async () => {
    const h = await harness({ config: { maxInFlight: 1 } });
    await h.service.start();
    await h.submit('a', 'u1');
    const b = await h.submit('b', 'u2');
    const c = await h.submit('c', 'u3');
    expect([b.queuePosition, c.queuePosition]).toEqual([1, 2]);
    const firstPost = h.surf.log.find((r) => r.op === 'post' && r.message.kind === 'progress' && r.message.job.id === c.job.id)!;
    expect(firstPost.message).toMatchObject({ progress: { phase: 'queued', queuePosition: 2 } });
    await h.until(() => h.finished.length === 3);
    // c's progress message moved up the queue before it started.
    const cViews = h.surf.log.filter((r) => r.message.kind === 'progress' && r.message.job.id === c.job.id).map((r) => (r.message.kind === 'progress' ? r.message.progress.queuePosition : undefined));
    expect(cViews).toContain(1);
    expect(h.prov.starts).toBe(3);
  });
});

describe('job service: submitting never pays twice', () => {
  it('retries a submit the provider refused before creating a job, after Retry-After', async () => {
    const h = await harness();
    h.prov.startErrors.push(new RateLimitError('Too Many Requests', { provider: 'aimlapi', status: 429, retryAfterMs: 20_000 }));
    await h.service.start();
    const { job } = await h.submit();
    await h.clock.advance(19_000);
    expect(h.prov.starts).toBe(0);
    await h.until(() => h.finished.length > 0);
    expect(h.prov.starts).toBe(1);
    expect((await h.store.get(job.id))?.attempts.submit).toBe(2);
    expect(h.finished).toEqual([`${job.id}:delivered`]);
  });

  it('does not retry a submit that may have created a paid job, and says it may be charged', async () => {
    const h = await harness();
    h.prov.startErrors.push(new ProviderError('provider_unavailable', 'Internal Server Error', { provider: 'aimlapi', status: 500, notCreated: false }));
    await h.service.start();
    const { job } = await h.submit();
    await h.until(() => h.finished.length > 0);
    expect(h.finished).toEqual([`${job.id}:submit_unknown`]);
    expect((await h.store.get(job.id))?.attempts.submit).toBe(1);
    const told = h.surf.log.at(-1)!.message;
    expect(told).toMatchObject({ kind: 'failed', text: expect.stringContaining('it may have been charged') });
    expect(told).toMatchObject({ text: expect.stringContaining('It was not sent again') });
    expect(told).toMatchObject({ text: expect.stringContaining('AIML API dashboard') });
    expect(told.kind === 'failed' && /try again/i.test(told.text)).toBe(false);
  });

  it('says plainly when the account is out of credits', async () => {
    const h = await harness();
    h.prov.startErrors.push(new ProviderError('out_of_credits', "You've run out of credits", { provider: 'aimlapi', status: 403, notCreated: true, retryable: false }));
    await h.service.start();
    await h.submit();
    await h.until(() => h.finished.length > 0);
    expect(h.surf.log.at(-1)!.message).toMatchObject({ kind: 'failed', text: "The bot's AIML API account is out of credits. Ask the bot's operator to top it up." });
  });
});

describe('job service: polling', () => {
  it('honours Retry-After on status checks and backs off on server errors', async () => {
    const h = await harness();
    h.prov.renderMs = 60_000;
    await h.service.start();
    await h.submit();
    await h.until(() => (h.prov.jobs.get('gen-1')?.statusCalls.length ?? 0) >= 1);
    h.prov.statusErrors.push(new RateLimitError('slow down', { provider: 'aimlapi', status: 429, retryAfterMs: 25_000 }));
    h.prov.statusErrors.push(new ProviderError('provider_unavailable', 'Bad Gateway', { provider: 'aimlapi', status: 502 }));
    await h.until(() => h.finished.length > 0);
    const calls = h.prov.jobs.get('gen-1')!.statusCalls;
    const limited = calls.findIndex((_, i) => i >= 1);
    expect(calls[limited + 1]! - calls[limited]!).toBeGreaterThanOrEqual(25_000);
    expect(h.finished[0]).toMatch(/:delivered$/);
  });

  it('fails clearly when the provider forgets the job', async () => {
    const h = await harness();
    await h.service.start();
    await h.submit();
    h.prov.statusErrors.push(new ProviderError('not_found', 'not found', { provider: 'aimlapi', status: 404 }));
    await h.until(() => h.finished.length > 0);
    expect(h.surf.log.at(-1)!.message).toMatchObject({ kind: 'failed', text: 'The provider no longer knows this job (gen-1); it may have expired.' });
  });

  it('treats an unknown status word as an anomaly, shown and then given up on', async () => {
    const h = await harness({ config: { unknownStatusGraceMs: 60_000 } });
    h.prov.renderMs = 10 * 60_000;
    await h.service.start();
    await h.submit();
    await h.until(() => (h.prov.jobs.get('gen-1')?.statusCalls.length ?? 0) >= 1);
    for (let i = 0; i < 100; i++) h.prov.words.push('hibernating');
    await h.until(() => h.finished.length > 0);
    expect(h.finished[0]).toMatch(/:failed$/);
    expect(h.surf.log.at(-1)!.message).toMatchObject({ kind: 'failed', text: expect.stringContaining('unexpected status ("hibernating")') });
    expect(h.surf.edits().some((r) => r.message.kind === 'progress' && r.message.progress.anomaly === 'unknown status "hibernating"')).toBe(true);
    expect(h.prov.jobs.get('gen-1')!.statusCalls.length).toBeLessThan(40);
  });

  it('gives up after the maximum age with a timeout result', async () => {
    const h = await harness({ config: { maxAgeMs: 5 * 60_000 } });
    h.prov.renderMs = 60 * 60_000;
    await h.service.start();
    const { job } = await h.submit();
    await h.until(() => h.finished.length > 0, 5000);
    expect(h.finished).toEqual([`${job.id}:timed_out`]);
    expect(h.surf.log.at(-1)!.message).toMatchObject({ kind: 'failed', text: 'Gave up after 5 minutes without a result from the provider (job gen-1). It may still finish and be charged.' });
  });
});

describe('job service: progress', () => {
  it('edits at most once per interval and only when the view changed', async () => {
    const h = await harness({ surface: { progressIntervalMs: 5000 } });
    h.prov.renderMs = 90_000;
    await h.service.start();
    await h.submit();
    await h.until(() => h.finished.length > 0);
    const progress = h.surf.log.filter((r) => r.message.kind === 'progress');
    const gaps = progress.slice(1).map((r, i) => r.at - progress[i]!.at);
    // Status changes may go out after 1 s; everything else waits the full interval.
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1000);
    expect(gaps.filter((g) => g < 5000).length).toBeLessThanOrEqual(3);
    expect(progress.length).toBeLessThanOrEqual(90 / 5 + 4);
    expect(progress.length).toBeGreaterThanOrEqual(5);
    const keys = progress.map((r) => (r.message.kind === 'progress' ? JSON.stringify({ ...r.message.progress, elapsedSeconds: 0 }) : ''));
    for (let i = 1; i < keys.length; i++) expect(keys[i]).not.toBe(keys[i - 1]);
    const pcts = progress.map((r) => (r.message.kind === 'progress' ? (r.message.progress.percent ?? 0) : 0));
    expect(pcts).toEqual([...pcts].sort((a, b) => a - b));
  });

  it('keeps going without edits when the progress message is deleted', async () => {
    const h = await harness();
    h.prov.renderMs = 60_000;
    await h.service.start();
    const { job } = await h.submit();
    h.surf.gone.add(job.progressMessage!);
    await h.until(() => h.finished.length > 0);
    expect(h.finished).toEqual([`${job.id}:delivered`]);
    expect((await h.store.get(job.id))?.progressMessage).toBeUndefined();
    expect(h.surf.uploads()).toHaveLength(1);
  });

  it('spreads edits under a surface-wide budget', async () => {
    const h = await harness({ surface: { progressIntervalMs: 1000, maxEditsPerSecond: 1 }, config: { maxPerUser: 20 } });
    h.prov.renderMs = 30_000;
    await h.service.start();
    for (let i = 0; i < 10; i++) await h.submit(`p${i}`);
    await h.until(() => h.finished.length === 10, 250);
    const edits = h.surf.edits().filter((r) => r.message.kind === 'progress');
    const perSecond = new Map<number, number>();
    for (const e of edits) perSecond.set(Math.floor(e.at / 1000), (perSecond.get(Math.floor(e.at / 1000)) ?? 0) + 1);
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(2);
  });
});

describe('job service: delivery', () => {
  it('posts a link with its expiry when the file is over the surface limit', async () => {
    const h = await harness({ surface: { limit: 1000 }, videoBytes: 5000 });
    await h.service.start();
    const { job } = await h.submit();
    await h.until(() => h.finished.length > 0);
    expect(h.surf.uploads()).toHaveLength(0);
    expect(h.surf.log.find((r) => r.message.kind === 'link')).toMatchObject({ op: 'post', message: { kind: 'link', url: 'https://cdn.test/gen-1.mp4', bytes: 5000, limitBytes: 1000 } });
    expect(h.surf.log.at(-1)).toMatchObject({ op: 'edit', ref: job.progressMessage, message: { kind: 'done', deliveredAs: 'link' } });
    expect((await h.store.get(job.id))?.result?.deliveredAs).toBe('link');
  });

  it('posts a link when the platform refuses the upload as too large', async () => {
    const h = await harness({ surface: { limit: 10_000, platformLimit: 3000 }, videoBytes: 5000 });
    await h.service.start();
    const { job } = await h.submit();
    await h.until(() => h.finished.length > 0);
    expect(h.surf.uploads()).toHaveLength(0);
    expect(h.surf.log.find((r) => r.message.kind === 'link')).toMatchObject({ op: 'post', message: { kind: 'link', url: 'https://cdn.test/gen-1.mp4', bytes: 5000 } });
    expect((await h.store.get(job.id))?.result?.deliveredAs).toBe('link');
  });

  it('asks the surface for the limit of this job (e.g. what the platform said at submit)', async () => {
    const h = await harness({ videoBytes: 5000 });
    await h.service.start();
    await h.service.submit({ input: { prompt: 'x' }, surface: 'test', conversation: 'test:c', requester: { id: 'u' }, meta: { uploadLimit: '4000' } });
    await h.until(() => h.finished.length > 0);
    expect(h.surf.log.find((r) => r.message.kind === 'link')!.message).toMatchObject({ kind: 'link', limitBytes: 4000 });
  });

  it('stops downloading at the size cap and links instead', async () => {
    const h = await harness({ config: { maxVideoBytes: 4000 }, videoBytes: 5000 });
    await h.service.start();
    await h.submit();
    await h.until(() => h.finished.length > 0);
    expect(h.surf.log.find((r) => r.message.kind === 'link')!.message).toMatchObject({ kind: 'link', limitBytes: 4000 });
  });

  it('retries a failed download and fails clearly on an expired link', async () => {
    const h = await harness();
    h.fetch.errors.push(h.fetch.flaky());
    await h.service.start();
    await h.submit();
    await h.until(() => h.finished.length > 0);
    expect(h.fetch.calls).toHaveLength(2);
    expect(h.surf.uploads()).toHaveLength(1);

    const e = await harness();
    e.fetch.errors.push(e.fetch.expired());
    await e.service.start();
    await e.submit();
    await e.until(() => e.finished.length > 0);
    expect(e.surf.log.at(-1)!.message).toMatchObject({ kind: 'failed', text: 'The video was made, but its download link had already expired when we fetched it.' });
  });

  it('delivers to the fallback conversation when the channel is gone', async () => {
    const h = await harness();
    h.surf.setFallback('test:dm-u1');
    await h.service.start();
    const { job } = await h.submit();
    h.surf.gone.add('test:chan1');
    await h.until(() => h.finished.length > 0);
    expect(h.surf.uploads().map((u) => u.ref.split('/')[0])).toEqual(['test:dm-u1']);
    expect((await h.store.get(job.id))?.conversation).toBe('test:dm-u1');
  });
});

describe('job service: cancel', () => {
  it('cancels queued jobs for free and warns that submitted ones may be charged', async () => {
    const h = await harness({ config: { maxPerUser: 1 } });
    await h.service.start();
    const a = await h.submit('a');
    const b = await h.submit('b');
    await expect(h.service.cancel(a.job.id, { id: 'someone-else' })).rejects.toThrow('Only the person who asked');
    await h.service.cancel(b.job.id, { id: 'u1' });
    expect(h.surf.log.at(-1)!.message).toMatchObject({ kind: 'cancelled', text: 'Cancelled before it was submitted; nothing was charged.' });
    await h.clock.advance(1000);
    await h.service.cancel(a.job.id, { id: 'u1' });
    expect(h.surf.log.at(-1)!.message).toMatchObject({ kind: 'cancelled', text: expect.stringContaining('may still finish it and charge') });
    await h.clock.advance(120_000);
    expect(h.prov.starts).toBe(1);
    expect(h.surf.uploads()).toHaveLength(0);
  });
});
