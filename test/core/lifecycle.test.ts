/** The transition table and `decide`, as pure functions. */
import { describe, expect, it } from 'vitest';
import type { JobRecord, JobStatus } from '../../src/core/job.js';
import { ACTIVE_STATUSES, FINAL_STATUSES } from '../../src/core/job.js';
import type { JobEvent } from '../../src/core/lifecycle.js';
import { TRANSITIONS, canTransition, decide } from '../../src/core/lifecycle.js';

const c = { now: 1_000, providerLabel: 'AIML API' };
const video = { kind: 'url' as const, url: 'https://cdn.test/v.mp4' };

function job(status: JobStatus, over: Partial<JobRecord> = {}): JobRecord {
  return {
    id: 'j1',
    version: 3,
    surface: 'test',
    conversation: 'test:c',
    requester: { id: 'u1' },
    meta: {},
    request: { modelId: 'aimlapi/seedance-1-0-lite-t2v', prompt: 'p', resolution: '720p', duration: 5, seed: 1, fixedCamera: false, watermark: false },
    provider: 'aimlapi',
    status,
    createdAt: 0,
    updatedAt: 0,
    attempts: { submit: 1, delivery: 0 },
    progressMessage: 'test:c/m1',
    ...(status === 'completed' || status === 'delivering' ? { result: { video } } : {}),
    ...over,
  };
}

const EVERY_EVENT: JobEvent[] = [
  { type: 'announced', progressMessage: 'x' },
  { type: 'submit_begin' },
  { type: 'submit_ok', operation: { provider: 'aimlapi', id: 'gen-1' } },
  { type: 'submit_retry', at: 5000 },
  { type: 'submit_refused', code: 'bad_key', text: 'no' },
  { type: 'submit_unknown', text: 'maybe' },
  { type: 'submit_interrupted', text: 'maybe' },
  { type: 'provider_status', providerStatus: 'generating' },
  { type: 'rendered', providerStatus: 'completed', video },
  { type: 'render_failed', code: 'x', text: 'x' },
  { type: 'timed_out', text: 'late' },
  { type: 'delivery_attempt' },
  { type: 'delivery_wait', at: 9000, waiting: 'platform' },
  { type: 'delivered', deliveredAs: 'file', messageRef: 'r', conversation: 'test:c' },
  { type: 'undeliverable', code: 'x', text: 'x' },
  { type: 'cancel', by: 'u1' },
  { type: 'progress_gone', ref: 'test:c/m1' },
  { type: 'fail', code: 'x', text: 'x' },
];

describe('the transition table', () => {
  it('never leaves a final status', () => {
    for (const s of FINAL_STATUSES) {
      expect(TRANSITIONS[s]).toEqual([]);
      for (const e of EVERY_EVENT) expect(decide(job(s), e, c)).toMatchObject({ ok: false });
    }
  });

  it('decide only ever makes transitions the table allows', () => {
    for (const s of ACTIVE_STATUSES) {
      for (const e of EVERY_EVENT) {
        const d = decide(job(s), e, c);
        if (d.ok) expect(canTransition(s, d.job.status), `${s} --${e.type}--> ${d.job.status}`).toBe(true);
      }
    }
  });

  it('does not change the record it decides on', () => {
    const j = job('running');
    const before = structuredClone(j);
    decide(j, { type: 'cancel', by: 'u1' }, c);
    decide(j, { type: 'rendered', providerStatus: 'completed', video }, c);
    expect(j).toEqual(before);
  });
});

describe('cancel', () => {
  it('a queued job is cancelled for free and its admission no longer counts', () => {
    const d = decide(job('queued'), { type: 'cancel', by: 'u1' }, c);
    expect(d).toMatchObject({ ok: true, job: { status: 'cancelled', released: true, finishedAt: 1000 }, notice: { kind: 'cancelled', text: 'Cancelled before it was submitted; nothing was charged.' } });
  });

  it('during a submit it is recorded and applied when the provider answers', () => {
    const d = decide(job('submitting'), { type: 'cancel', by: 'u1' }, c);
    expect(d).toMatchObject({ ok: true, job: { status: 'submitting', cancelRequested: { by: 'u1', at: 1000 } } });
    const requested = d.ok ? d.job : job('submitting');
    // The provider accepted it: cancelled, with a plain warning that it may be charged.
    const accepted = decide(requested, { type: 'submit_ok', operation: { provider: 'aimlapi', id: 'gen-9' } }, c);
    expect(accepted.ok && accepted.job.released).toBeFalsy();
    expect(accepted).toMatchObject({
      ok: true,
      job: { status: 'cancelled' },
      notice: { kind: 'cancelled', text: 'Cancelled. AIML API had already accepted the job (gen-9), so it may still finish it and charge for it.' },
    });
    // The provider certainly made no job: cancelled, nothing charged, admission released.
    expect(decide(requested, { type: 'submit_retry', at: 9 }, c)).toMatchObject({ ok: true, job: { status: 'cancelled', released: true }, notice: { text: expect.stringContaining('nothing was charged') } });
    expect(decide(requested, { type: 'submit_refused', code: 'x', text: 'x' }, c)).toMatchObject({ ok: true, job: { status: 'cancelled', released: true } });
  });

  it('wins over a completed status check that arrives after it', () => {
    const cancelled = decide(job('running'), { type: 'cancel', by: 'u1' }, c);
    expect(cancelled).toMatchObject({ ok: true, job: { status: 'cancelled' }, notice: { text: expect.stringContaining('may still finish it and charge') } });
    const late = decide(cancelled.ok ? cancelled.job : job('running'), { type: 'rendered', providerStatus: 'completed', video }, c);
    expect(late).toMatchObject({ ok: false, reason: 'the job is already cancelled' });
  });

  it('is refused once delivery has begun', () => {
    expect(decide(job('completed'), { type: 'cancel', by: 'u1' }, c)).toEqual({ ok: false, reason: 'the video is already being delivered' });
    expect(decide(job('delivering'), { type: 'cancel', by: 'u1' }, c)).toEqual({ ok: false, reason: 'the video is already being delivered' });
  });
});

describe('submits', () => {
  it('a submit that may have reached the provider ends as submit_unknown and still counts', () => {
    const d = decide(job('submitting'), { type: 'submit_unknown', text: 'maybe charged' }, c);
    expect(d.ok && d.job.released).toBeFalsy();
    expect(d).toMatchObject({
      ok: true,
      job: { status: 'submit_unknown', error: { code: 'submit_unknown', message: 'maybe charged' } },
      notice: { kind: 'failed', text: 'maybe charged' },
    });
  });

  it('a refused submit releases the admission; a retry goes back to the queue with its time', () => {
    expect(decide(job('submitting'), { type: 'submit_refused', code: 'out_of_credits', text: 'top up' }, c)).toMatchObject({ ok: true, job: { status: 'failed', released: true } });
    expect(decide(job('submitting'), { type: 'submit_retry', at: 5000 }, c)).toMatchObject({ ok: true, job: { status: 'queued', retryAt: 5000 } });
  });

  it('counts attempts and delivery attempts', () => {
    expect(decide(job('queued'), { type: 'submit_begin' }, c)).toMatchObject({ ok: true, job: { status: 'submitting', attempts: { submit: 2 } } });
    const d = decide(job('completed', { retryAt: 5, waiting: 'download' }), { type: 'delivery_attempt', bytes: 99 }, c);
    expect(d).toMatchObject({ ok: true, job: { status: 'delivering', attempts: { delivery: 1 }, result: { bytes: 99 } } });
    expect(d.ok && d.job.retryAt).toBeUndefined();
    expect(d.ok && d.job.waiting).toBeUndefined();
  });
});
