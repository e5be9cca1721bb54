/**
 * The metrics port from the core's side: what the job service records through
 * it over a job's life (on the manual clock, so times are exact), how provider
 * requests are labelled, the gauges' counts, and that without metrics nothing
 * is wrapped or recorded.
 */
import { describe, expect, it } from 'vitest';
import type { CoreMetrics } from '../../src/core/core-metrics.js';
import { NO_METRICS, meteredProviders, requestStatus } from '../../src/core/core-metrics.js';
import { DownloadError, ProviderError, RateLimitError } from '../../src/core/errors.js';
import { harness } from './harness.js';

type Call = [method: keyof CoreMetrics, ...args: unknown[]];

function recordingMetrics() {
  const calls: Call[] = [];
  const rec =
    (method: keyof CoreMetrics) =>
    (...args: unknown[]) =>
      void calls.push([method, ...args]);
  const metrics: CoreMetrics = {
    jobStarted: rec('jobStarted'),
    jobFinished: rec('jobFinished'),
    providerRequest: rec('providerRequest'),
    renderSeconds: rec('renderSeconds'),
    deliverySeconds: rec('deliverySeconds'),
    credits: rec('credits'),
    upload: rec('upload'),
  };
  return { metrics, calls, of: (method: keyof CoreMetrics) => calls.filter((c) => c[0] === method).map((c) => c.slice(1)) };
}

const MODEL = 'aimlapi/seedance-1-0-lite-t2v';

describe('core metrics: a job’s life', () => {
  it('records a delivered job: started, its requests, render and delivery time, credits, the upload, the outcome', async () => {
    const m = recordingMetrics();
    const h = await harness({ metrics: m.metrics });
    await h.service.start();
    const { job } = await h.submit('a fox running through snow', 'u1', 'test:chan1');
    await h.until(() => h.finished.length > 0);
    const stored = (await h.store.get(job.id))!;
    expect(stored.status).toBe('delivered');

    expect(m.of('jobStarted')).toEqual([['test', MODEL]]);
    expect(m.of('jobFinished')).toEqual([['test', MODEL, 'delivered']]);
    expect(m.of('renderSeconds')).toEqual([[(stored.completedAt! - stored.submittedAt!) / 1000]]);
    expect(m.of('renderSeconds')[0]![0]).toBeGreaterThanOrEqual(30);
    expect(m.of('deliverySeconds')).toEqual([[(stored.finishedAt! - stored.completedAt!) / 1000]]);
    expect(m.of('credits')).toEqual([['aimlapi', 120000]]);
    expect(m.of('upload')).toEqual([['test', 'file']]);
    const requests = m.of('providerRequest');
    expect(requests[0]).toEqual(['aimlapi', 'create', '2xx']);
    expect(requests.filter((r) => r[1] === 'status')).toHaveLength(h.prov.jobs.get('gen-1')!.statusCalls.length);
    expect(requests.filter((r) => r[1] === 'download')).toEqual([['aimlapi', 'download', '2xx']]);
    expect(new Set(requests.map((r) => r[2]))).toEqual(new Set(['2xx']));
    // Nothing the core passed names the user, the conversation, the prompt or the job.
    const values = JSON.stringify(m.calls);
    for (const secret of ['u1', 'chan1', 'fox', job.id]) expect(values).not.toContain(secret);
    await h.service.stop();
  });

  it('labels failed status checks and downloads by what went wrong, and records a failed job without a render time', async () => {
    const m = recordingMetrics();
    const h = await harness({ metrics: m.metrics });
    h.prov.statusErrors.push(
      new ProviderError('provider_unavailable', 'HTTP 503', { provider: 'aimlapi', status: 503 }),
      new RateLimitError('Too Many Requests', { provider: 'aimlapi', status: 429, retryAfterMs: 1000 }),
      new ProviderError('network', 'could not reach aimlapi: UND_ERR_HEADERS_TIMEOUT: Headers Timeout Error', { provider: 'aimlapi', status: 0 }),
      new ProviderError('network', 'could not reach aimlapi: ECONNRESET: socket hang up', { provider: 'aimlapi', status: 0 }),
    );
    h.fetch.errors.push(h.fetch.flaky());
    await h.service.start();
    await h.submit('first');
    await h.until(() => h.finished.length === 1);
    const failures = m.of('providerRequest').filter((r) => r[2] !== '2xx');
    expect(failures).toEqual([
      ['aimlapi', 'status', '503'],
      ['aimlapi', 'status', '429'],
      ['aimlapi', 'status', 'timeout'],
      ['aimlapi', 'status', 'network'],
      ['aimlapi', 'download', 'network'],
    ]);
    expect(m.of('jobFinished')).toEqual([['test', MODEL, 'delivered']]);

    h.prov.outcome = 'fail';
    await h.submit('second');
    await h.until(() => h.finished.length === 2);
    expect(m.of('jobFinished')[1]).toEqual(['test', MODEL, 'failed']);
    expect(m.of('renderSeconds')).toHaveLength(1);
    expect(m.of('upload')).toHaveLength(1);
    await h.service.stop();
  });

  it('counts live jobs by status and the queue for the gauges, and records a cancelled job', async () => {
    const m = recordingMetrics();
    const h = await harness({ metrics: m.metrics, config: { maxInFlight: 1 } });
    await h.service.start();
    const empty = h.service.jobCounts();
    expect(empty).toEqual({ active: { queued: 0, submitting: 0, running: 0, completed: 0, delivering: 0 }, queueLength: 0 });
    await h.submit('one', 'u1');
    const { job: second } = await h.submit('two', 'u2');
    await h.until(() => h.service.jobCounts().active.running === 1);
    expect(h.service.jobCounts()).toEqual({ active: { queued: 1, submitting: 0, running: 1, completed: 0, delivering: 0 }, queueLength: 1 });
    await h.service.cancel(second.id, { id: 'u2' });
    await h.until(() => h.finished.length === 2);
    expect(m.of('jobStarted')).toHaveLength(2);
    expect(m.of('jobFinished').map((c) => c[2]).sort()).toEqual(['cancelled', 'delivered']);
    expect(h.service.jobCounts()).toEqual(empty);
    await h.service.stop();
  });
});

describe('core metrics: request status labels', () => {
  it('maps outcomes to a small fixed set of labels', () => {
    const provider = (status: number, message = `HTTP ${status}`) => new ProviderError('x', message, { provider: 'p', status });
    expect(requestStatus()).toBe('2xx');
    expect(requestStatus(provider(429))).toBe('429');
    expect(requestStatus(provider(403))).toBe('403');
    expect(requestStatus(provider(418))).toBe('4xx');
    expect(requestStatus(provider(507))).toBe('5xx');
    expect(requestStatus(provider(302))).toBe('3xx');
    expect(requestStatus(provider(200))).toBe('bad_response');
    expect(requestStatus(provider(0, 'could not reach p: UND_ERR_CONNECT_TIMEOUT: Connect Timeout Error'))).toBe('timeout');
    expect(requestStatus(provider(0, 'could not reach p: ECONNREFUSED'))).toBe('network');
    expect(requestStatus(provider(999))).toBe('error');
    expect(requestStatus(new DownloadError('HTTP 410 from cdn', { status: 410 }))).toBe('410');
    expect(requestStatus(new TypeError('boom'))).toBe('error');
  });
});

describe('core metrics: the no-op default', () => {
  it('wraps nothing and records nothing: the core runs as without metrics', async () => {
    const h = await harness();
    const providers = { aimlapi: h.prov.provider };
    expect(meteredProviders(providers, NO_METRICS)).toBe(providers);
    for (const record of Object.values(NO_METRICS) as ((...a: unknown[]) => unknown)[]) expect(record('a', 'b', 'c')).toBeUndefined();
    await h.service.start();
    const { job } = await h.submit();
    await h.until(() => h.finished.length > 0);
    expect(h.finished).toEqual([`${job.id}:delivered`]);
    expect(h.service.jobCounts().queueLength).toBe(0);
    await h.service.stop();
  });
});
