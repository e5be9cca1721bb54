/**
 * The operator's view in Prometheus text format, through prom-client: the
 * core's metrics port (src/core/core-metrics.ts) as counters and histograms,
 * gauges of this instance's jobs and of the store read when scraped, and
 * prom-client's default process metrics. Each call makes its own registry
 * (not prom-client's global one), so tests and several apps in one process
 * never share a series.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CoreMetrics, JobCounts } from './core/core-metrics.js';
import { ACTIVE_STATUSES } from './core/job.js';
import type { StoreHealth } from './store.js';

/** Render times: the Seedance models take from about half a minute to several minutes. */
const RENDER_BUCKETS = [10, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1200];
/** Delivery times: a download and an upload take seconds; a re-encode or a platform outage much longer. */
const DELIVERY_BUCKETS = [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 900];

export interface Metrics {
  /** What GET /metrics serves (`metrics()`, `contentType`). */
  registry: Registry;
  /** The port the job service records through. */
  core: CoreMetrics;
  /** Where `seedance_jobs_active` and `seedance_queue_length` are read at each scrape (the job service). */
  watch(source: { jobCounts(): JobCounts }): void;
  /** Where `seedance_store_up` is read at each scrape (the store; 0 until there is one). */
  watchStore(store: { health(): StoreHealth }): void;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  let source: { jobCounts(): JobCounts } | undefined;
  let store: { health(): StoreHealth } | undefined;

  const started = new Counter({ name: 'seedance_jobs_started_total', help: 'Jobs admitted (accepted and queued), by surface and model.', labelNames: ['surface', 'model'], registers });
  const finished = new Counter({
    name: 'seedance_jobs_finished_total',
    help: 'Jobs that reached a final status on this instance, by surface, model and outcome.',
    labelNames: ['surface', 'model', 'outcome'],
    registers,
  });
  const requests = new Counter({
    name: 'seedance_provider_requests_total',
    help: 'Requests to a provider (create, status, download), by how they went: 2xx, an HTTP status or class, bad_response, timeout, network.',
    labelNames: ['provider', 'op', 'status'],
    registers,
  });
  const render = new Histogram({ name: 'seedance_render_seconds', help: 'Time from submit to the provider reporting the video done.', buckets: RENDER_BUCKETS, registers });
  const delivery = new Histogram({ name: 'seedance_delivery_seconds', help: 'Time from the video being done to it being posted.', buckets: DELIVERY_BUCKETS, registers });
  const credits = new Counter({ name: 'seedance_credits_used_total', help: 'Credits the providers reported for finished videos.', labelNames: ['provider'], registers });
  const uploads = new Counter({ name: 'seedance_uploads_total', help: 'Videos posted, as the file, a compressed copy or a link.', labelNames: ['surface', 'as'], registers });
  new Gauge({
    name: 'seedance_jobs_active',
    help: 'Jobs this instance works on now, by status.',
    labelNames: ['state'],
    registers,
    collect() {
      // Every state is reported, at 0 before the service exists (the health port is up before the store opens).
      const active: Partial<Record<string, number>> = source?.jobCounts().active ?? {};
      for (const state of ACTIVE_STATUSES) this.set({ state }, active[state] ?? 0);
    },
  });
  new Gauge({
    name: 'seedance_queue_length',
    help: 'Jobs waiting on this instance for a slot at the provider.',
    registers,
    collect() {
      this.set(source?.jobCounts().queueLength ?? 0);
    },
  });
  new Gauge({
    name: 'seedance_store_up',
    help: 'Whether the store (SQLite or Redis) answers: 1, or 0 while it can’t be reached (and before it is open).',
    registers,
    collect() {
      this.set(store?.health().up ? 1 : 0);
    },
  });

  return {
    registry,
    core: {
      jobStarted: (surface, model) => started.inc({ surface, model }),
      jobFinished: (surface, model, outcome) => finished.inc({ surface, model, outcome }),
      providerRequest: (provider, op, status) => requests.inc({ provider, op, status }),
      renderSeconds: (s) => render.observe(s),
      deliverySeconds: (s) => delivery.observe(s),
      credits: (provider, used) => credits.inc({ provider }, used),
      upload: (surface, as) => uploads.inc({ surface, as }),
    },
    watch(s) {
      source = s;
    },
    watchStore(s) {
      store = s;
    },
  };
}
