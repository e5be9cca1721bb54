/**
 * Learned render times and the polling plan built on them.
 *
 * Render time (submit → done) is modelled as log-normal per model, resolution and
 * duration. The prior comes from the catalogue's typical time; finished jobs
 * refine it (an exponentially weighted mean/variance of ln(seconds), so drift is
 * followed). The poll plan asks the provider more often where the video is most
 * likely to become ready: each poll covers a fixed share of the remaining
 * probability, so polls are sparse early and dense around the expected finish.
 */
import type { ModelSpec } from './catalogue.js';

export interface RenderStats {
  /** Effective sample count (capped, so old samples fade). */
  n: number;
  /** Mean of ln(seconds). */
  mean: number;
  /** Variance of ln(seconds). */
  variance: number;
}

export interface RenderEstimate {
  mu: number;
  sigma: number;
}

export interface PollPolicy {
  /** Share of the remaining finish probability each poll interval covers (smaller = more polls). */
  coverage: number;
  minIntervalMs: number;
  maxIntervalMs: number;
  /** First poll no earlier than this after submit (fast failures still surface). */
  firstPollMs: number;
}

export const DEFAULT_POLL_POLICY: PollPolicy = { coverage: 0.2, minIntervalMs: 1000, maxIntervalMs: 15_000, firstPollMs: 2000 };

const PRIOR_WEIGHT = 2;
const MAX_WEIGHT = 40;
const PRIOR_SIGMA = 0.3;
const MIN_SIGMA = 0.05;

const RESOLUTION_FACTOR: Record<string, number> = { '480p': 0.68, '720p': 1, '1080p': 1.5, '4k': 3 };

export function statsKey(modelId: string, resolution: string, duration: number): string {
  return `${modelId}|${resolution}|${duration}s`;
}

/** Prior from the catalogue: typical time scaled by resolution and clip length. */
export function priorEstimate(spec: ModelSpec, resolution: string, duration: number): RenderEstimate {
  const seconds = spec.typicalSeconds * (RESOLUTION_FACTOR[resolution] ?? 1) * (duration / 5);
  return { mu: Math.log(seconds), sigma: PRIOR_SIGMA };
}

/** Blends the prior with what finished jobs taught us. */
export function estimate(prior: RenderEstimate, stats: RenderStats | undefined): RenderEstimate {
  if (!stats || stats.n <= 0) return prior;
  const w = stats.n + PRIOR_WEIGHT;
  const mu = (stats.mean * stats.n + prior.mu * PRIOR_WEIGHT) / w;
  const variance = (stats.variance * stats.n + prior.sigma ** 2 * PRIOR_WEIGHT) / w;
  return { mu, sigma: Math.max(MIN_SIGMA, Math.sqrt(variance)) };
}

/** Adds one observed render time. */
export function observe(stats: RenderStats | undefined, seconds: number): RenderStats {
  const x = Math.log(Math.max(0.5, seconds));
  if (!stats || stats.n <= 0) return { n: 1, mean: x, variance: 0 };
  const n = Math.min(stats.n + 1, MAX_WEIGHT);
  const alpha = 1 / n;
  const delta = x - stats.mean;
  const mean = stats.mean + alpha * delta;
  const variance = (1 - alpha) * (stats.variance + alpha * delta * delta);
  return { n, mean, variance };
}

/** Standard normal CDF (Abramowitz–Stegun 7.1.26, |error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(z) / Math.SQRT2);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-(z * z) / 2);
  return z >= 0 ? (1 + y) / 2 : (1 - y) / 2;
}

/** Inverse standard normal CDF (Acklam's rational approximation). */
export function normalQuantile(p: number): number {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155211154];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  const poly = (k: number[], x: number) => k.reduce((acc, v) => acc * x + v, 0);
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return poly(c, q) / (poly(d, q) * q + 1);
  }
  if (p > 1 - lo) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return -poly(c, q) / (poly(d, q) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  return (poly(a, r) * q) / (poly(b, r) * r + 1);
}

/** P(render time <= seconds). */
export function finishedBy(est: RenderEstimate, seconds: number): number {
  return seconds <= 0 ? 0 : normalCdf((Math.log(seconds) - est.mu) / est.sigma);
}

/** Time (s) by which a share p of renders have finished. */
export function quantile(est: RenderEstimate, p: number): number {
  return Math.exp(est.mu + est.sigma * normalQuantile(p));
}

/** Delay until the next poll, given how long the job has been running. */
export function nextPollDelayMs(est: RenderEstimate, elapsedMs: number, policy: PollPolicy): number {
  if (elapsedMs < policy.firstPollMs) {
    // First look: at the earliest plausible finish, but not before firstPollMs.
    const early = quantile(est, policy.coverage) * 1000;
    return clamp(Math.max(policy.firstPollMs, early) - elapsedMs, policy.minIntervalMs, policy.maxIntervalMs);
  }
  const f = finishedBy(est, elapsedMs / 1000);
  const target = f + policy.coverage * (1 - f);
  const at = target >= 0.999999 ? Infinity : quantile(est, target) * 1000;
  return clamp(at - elapsedMs, policy.minIntervalMs, policy.maxIntervalMs);
}

/** Median remaining time given the job has run `elapsedMs` and is not done. */
export function remainingMs(est: RenderEstimate, elapsedMs: number): number {
  const f = finishedBy(est, elapsedMs / 1000);
  const median = f >= 0.9999 ? elapsedMs / 1000 : quantile(est, (1 + f) / 2);
  return Math.max(0, median * 1000 - elapsedMs);
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, Number.isFinite(x) ? x : hi));
}
