/** Small statistics and sampling helpers for the benchmark. */
import { PerformanceObserver, monitorEventLoopDelay } from 'node:perf_hooks';

export function quantileOf(xs: number[], q: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return s[i]!;
}

export const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** Seeded PRNG (mulberry32) so every run draws the same jobs. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function gaussian(rand: () => number): number {
  const u = Math.max(1e-12, rand());
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** Samples RSS and event-loop delay while a stage runs. */
export function startMonitor() {
  const eld = monitorEventLoopDelay({ resolution: 10 });
  eld.enable();
  let peakRss = process.memoryUsage().rss;
  let gcMaxMs = 0;
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMaxMs = Math.max(gcMaxMs, e.duration);
  });
  gc.observe({ entryTypes: ['gc'] });
  const timer = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      eld.disable();
      gc.disconnect();
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      return { peakRssMb: peakRss / (1024 * 1024), eldP99Ms: eld.percentile(99) / 1e6, eldMaxMs: eld.max / 1e6, gcMaxMs };
    },
  };
}
