import { describe, expect, it } from 'vitest';
import { BUILTIN_MODELS } from '../../src/providers/index.js';
import { DEFAULT_POLL_POLICY, estimate, finishedBy, nextPollDelayMs, normalCdf, normalQuantile, observe, priorEstimate, quantile, remainingMs } from '../../src/core/eta.js';
import type { RenderStats } from '../../src/core/eta.js';

const liteT2v = BUILTIN_MODELS[0]!;

function plan(est: ReturnType<typeof priorEstimate>, untilMs: number): number[] {
  const polls: number[] = [];
  let t = 0;
  while (t < untilMs) {
    t += nextPollDelayMs(est, t, DEFAULT_POLL_POLICY);
    polls.push(t);
  }
  return polls;
}

describe('render-time model', () => {
  it('normal CDF and quantile invert each other', () => {
    for (const p of [0.001, 0.02, 0.2, 0.5, 0.8, 0.97, 0.999]) expect(normalCdf(normalQuantile(p))).toBeCloseTo(p, 5);
  });

  it('scales the prior by resolution and clip length', () => {
    const base = Math.exp(priorEstimate(liteT2v, '720p', 5).mu);
    expect(base).toBeCloseTo(40, 5);
    expect(Math.exp(priorEstimate(liteT2v, '1080p', 10).mu)).toBeCloseTo(40 * 1.5 * 2, 5);
    expect(Math.exp(priorEstimate(liteT2v, '480p', 5).mu)).toBeLessThan(base);
  });

  it('learns from finished jobs and follows drift', () => {
    let stats: RenderStats | undefined;
    for (let i = 0; i < 30; i++) stats = observe(stats, 20 + (i % 3));
    const est = estimate(priorEstimate(liteT2v, '720p', 5), stats);
    expect(Math.exp(est.mu)).toBeGreaterThan(19);
    expect(Math.exp(est.mu)).toBeLessThan(23); // the 40 s prior has been outweighed
    expect(est.sigma).toBeLessThan(0.3);
    for (let i = 0; i < 60; i++) stats = observe(stats, 60);
    const drifted = Math.exp(estimate(priorEstimate(liteT2v, '720p', 5), stats).mu);
    expect(drifted).toBeGreaterThan(45); // most of the way from 21 s to the new 60 s
    expect(drifted).toBeLessThan(60);
    expect(stats!.n).toBe(40); // capped, so old samples fade
  });

  it('polls sparsely early and densely around the expected finish', () => {
    const est = { mu: Math.log(60), sigma: 0.15 };
    const polls = plan(est, 120_000);
    const gaps = polls.slice(1).map((t, i) => t - polls[i]!);
    const early = gaps.filter((_, i) => polls[i]! < 35_000);
    const nearFinish = gaps.filter((_, i) => polls[i]! > 50_000 && polls[i]! < 70_000);
    expect(Math.min(...early)).toBeGreaterThan(Math.max(...nearFinish));
    expect(Math.max(...nearFinish)).toBeLessThanOrEqual(5_000);
    // Never outside the policy's bounds.
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(DEFAULT_POLL_POLICY.minIntervalMs);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(DEFAULT_POLL_POLICY.maxIntervalMs);
    // Far fewer polls to 60 s than a fixed 1 s cadence, yet several near the finish.
    expect(polls.filter((t) => t <= 60_000).length).toBeLessThan(20);
    expect(polls.filter((t) => t > 50_000 && t <= 70_000).length).toBeGreaterThanOrEqual(4);
  });

  it('keeps polling at the maximum interval once past every expectation', () => {
    const est = { mu: Math.log(30), sigma: 0.1 };
    expect(nextPollDelayMs(est, 300_000, DEFAULT_POLL_POLICY)).toBe(DEFAULT_POLL_POLICY.maxIntervalMs);
  });

  it('estimates remaining time as the conditional median', () => {
    const est = { mu: Math.log(60), sigma: 0.2 };
    expect(remainingMs(est, 0) / 1000).toBeCloseTo(60, 0);
    const later = remainingMs(est, 50_000);
    expect(later).toBeGreaterThan(0);
    expect(later).toBeLessThan(15_000);
    expect(finishedBy(est, quantile(est, 0.3))).toBeCloseTo(0.3, 4);
  });
});
