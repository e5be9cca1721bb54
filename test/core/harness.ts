/**
 * Test harness for the job service: a manual clock, a scripted provider that
 * implements the VideoProvider port on that clock, a fetcher that writes fake
 * videos, and a surface that records everything it is asked to show.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, vi } from 'vitest';
import { createCatalogue } from '../../src/core/catalogue.js';
import type { CoreMetrics } from '../../src/core/core-metrics.js';
import { BUILTIN_MODELS } from '../../src/providers/index.js';
import { ManualClock } from '../../src/core/clock.js';
import { DownloadError } from '../../src/core/errors.js';
import { DEFAULT_POLL_POLICY } from '../../src/core/eta.js';
import type { JobServiceConfig } from '../../src/core/job-service.js';
import { createJobService } from '../../src/core/job-service.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Logger } from '../../src/core/logger.js';
import type { ChatSurface, ProviderOperation, ProviderStatus, SurfaceMessage, VideoFetcher, VideoProvider, VideoTools } from '../../src/core/ports.js';
import { SurfaceGoneError, SurfaceTooLargeError } from '../../src/core/ports.js';
import { createRequestValidator } from '../../src/core/request.js';
import type { InstanceIdentity } from '../../src/core/instance.js';
import type { Store } from '../../src/store.js';
import { openStore } from '../../src/store.js';

export interface ScriptedJob {
  id: string;
  prompt: string;
  startedAt: number;
  renderMs: number;
  outcome: 'ok' | 'fail';
  statusCalls: number[];
}

/** A provider on the manual clock. Queue errors/words to script misbehaviour. */
export function scriptedProvider(clock: ManualClock, name = 'aimlapi') {
  const jobs = new Map<string, ScriptedJob>();
  const startErrors: Error[] = [];
  const statusErrors: Error[] = [];
  const words: string[] = [];
  let renderMs = 30_000;
  let outcome: ScriptedJob['outcome'] = 'ok';
  let seq = 0;
  const provider: VideoProvider = {
    name,
    async start(req) {
      const err = startErrors.shift();
      if (err) throw err;
      const id = `gen-${++seq}`;
      jobs.set(id, { id, prompt: req.prompt, startedAt: clock.now(), renderMs, outcome, statusCalls: [] });
      return { operation: { provider: name, id } };
    },
    async status(op: ProviderOperation): Promise<ProviderStatus> {
      const job = jobs.get(op.id)!;
      job.statusCalls.push(clock.now());
      const err = statusErrors.shift();
      if (err) throw err;
      const word = words.shift();
      if (word) return { state: 'pending', providerStatus: word, queued: false, anomaly: `unknown status "${word}"` };
      const age = clock.now() - job.startedAt;
      if (age < job.renderMs) return { state: 'pending', providerStatus: age < job.renderMs / 5 ? 'queued' : 'generating', queued: age < job.renderMs / 5 };
      if (job.outcome === 'fail') return { state: 'failed', providerStatus: 'error', error: { code: 'GenerationError', message: 'sensitive content' } };
      return { state: 'completed', providerStatus: 'completed', video: { kind: 'url', url: `https://cdn.test/${op.id}.mp4`, expiresAt: clock.now() + 86_400_000 }, creditsUsed: 120000 };
    },
  };
  return {
    provider,
    jobs,
    startErrors,
    statusErrors,
    words,
    set renderMs(ms: number) {
      renderMs = ms;
    },
    set outcome(o: ScriptedJob['outcome']) {
      outcome = o;
    },
    get starts() {
      return seq;
    },
  };
}

/** Writes `size` bytes (or a copy of the real video `file`) for every download; queue errors to fail the next ones. */
export function fakeFetcher(size = 2048, file?: string) {
  const calls: string[] = [];
  const errors: Error[] = [];
  const fetcher: VideoFetcher = {
    async download(url, path, { maxBytes }) {
      calls.push(url);
      const err = errors.shift();
      if (err) throw err;
      const body = file ? readFileSync(file) : Buffer.alloc(size, 7);
      if (body.length > maxBytes) return { ok: false, reason: 'too_large', bytes: body.length };
      writeFileSync(path, body);
      return { ok: true, bytes: body.length };
    },
  };
  return { fetcher, calls, errors, expired: () => new DownloadError('HTTP 403', { status: 403 }), flaky: () => new DownloadError('reset', { status: 0, retryable: true }) };
}

export interface Recorded {
  op: 'post' | 'edit' | 'upload';
  ref: string;
  at: number;
  message: SurfaceMessage;
  key?: string;
}

/** A surface that records every call; knobs for size limits and vanished messages. */
export function recordingSurface(
  clock: ManualClock,
  opts: { kind?: string; progressIntervalMs?: number; limit?: number; maxEditsPerSecond?: number; /** The platform's real limit, which may be below the declared one. */ platformLimit?: number } = {},
) {
  const log: Recorded[] = [];
  const gone = new Set<string>();
  let seq = 0;
  let fallback: string | undefined;
  const surface: ChatSurface = {
    kind: opts.kind ?? 'test',
    progressIntervalMs: opts.progressIntervalMs ?? 5000,
    ...(opts.maxEditsPerSecond ? { maxEditsPerSecond: opts.maxEditsPerSecond } : {}),
    async post(conversation, message) {
      if (gone.has(conversation)) throw new SurfaceGoneError('channel deleted');
      const ref = `${conversation}/m${++seq}`;
      log.push({ op: 'post', ref, at: clock.now(), message });
      return ref;
    },
    async edit(ref, message) {
      if (gone.has(ref) || gone.has(ref.split('/')[0]!)) throw new SurfaceGoneError('message deleted');
      log.push({ op: 'edit', ref, at: clock.now(), message });
    },
    async maxUploadBytes(_conversation, meta) {
      return meta.uploadLimit ? Number(meta.uploadLimit) : (opts.limit ?? 10 * 1024 * 1024);
    },
    async upload(conversation, file, message, { idempotencyKey }) {
      if (gone.has(conversation)) throw new SurfaceGoneError('channel deleted');
      if (opts.platformLimit !== undefined && file.bytes > opts.platformLimit) throw new SurfaceTooLargeError('Request entity too large');
      const ref = `${conversation}/m${++seq}`;
      log.push({ op: 'upload', ref, at: clock.now(), message, key: idempotencyKey });
      return ref;
    },
    async fallbackConversation() {
      return fallback;
    },
  };
  return {
    surface,
    log,
    gone,
    setFallback: (c: string | undefined) => void (fallback = c),
    edits: () => log.filter((r) => r.op === 'edit'),
    uploads: () => log.filter((r) => r.op === 'upload'),
    kinds: () => log.map((r) => `${r.op}:${r.message.kind}`),
  };
}

export const baseConfig = (over: Partial<JobServiceConfig> = {}): JobServiceConfig => ({
  maxPerUser: 2,
  maxQueuedPerUser: 3,
  maxInFlight: 20,
  maxAgeMs: 30 * 60_000,
  maxVideoBytes: 200 * 1024 * 1024,
  videosCapBytes: 1024 * 1024 * 1024,
  deliveryDeadlineMs: 6 * 3_600_000,
  leaseMs: 60_000,
  pollPolicy: DEFAULT_POLL_POLICY,
  pollConcurrency: 8,
  workDir: mkdtempSync(join(tmpdir(), 'seedance-core-')),
  unknownStatusGraceMs: 60_000,
  ...over,
});

const openStores: Store[] = [];
afterEach(async () => {
  for (const s of openStores.splice(0)) await s.close().catch(() => undefined);
});

/** A real SQLite store in a fresh temporary file (closed after the test). */
export async function tempStore(opts: { dir?: string; busyTimeoutMs?: number } = {}): Promise<Store & { dir: string; file: string }> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'seedance-store-'));
  const store = await openStore(undefined, dir, { busyTimeoutMs: opts.busyTimeoutMs ?? 50 });
  openStores.push(store);
  return { ...store, dir, file: join(dir, 'seedance.sqlite') };
}

export async function harness(
  opts: {
    config?: Partial<JobServiceConfig>;
    /** A store shared with another service instance (like two processes on one file). */
    store?: Store;
    clock?: ManualClock;
    /** A provider shared with another service instance (the same remote API). */
    prov?: ReturnType<typeof scriptedProvider>;
    surface?: Parameters<typeof recordingSurface>[1];
    videoBytes?: number;
    /** A real video every download copies (instead of `videoBytes` of filler). */
    videoFile?: string;
    /** ffmpeg for the core: over-limit videos are re-encoded, last frames kept. */
    videoTools?: VideoTools;
    identity?: InstanceIdentity;
    logger?: Logger;
    /** Where the core records its metrics (none by default). */
    metrics?: CoreMetrics;
  } = {},
) {
  const clock = opts.clock ?? new ManualClock();
  // In memory by default (operations settle within the manual clock's steps); restart and
  // fault tests pass a real SQLite store.
  const db = opts.store ?? (await openStore('memory:', ''));
  const store = db.jobs;
  const prov = opts.prov ?? scriptedProvider(clock);
  const fetch = fakeFetcher(opts.videoBytes, opts.videoFile);
  const surf = recordingSurface(clock, opts.surface);
  const catalogue = createCatalogue(BUILTIN_MODELS, { providers: ['aimlapi'] });
  const config = baseConfig(opts.config);
  const service = createJobService({
    store,
    providers: { aimlapi: prov.provider },
    catalogue,
    validator: createRequestValidator(catalogue, { model: 'lite', resolution: '720p', duration: 5 }, () => 0.25),
    surfaces: [surf.surface],
    fetcher: fetch.fetcher,
    clock,
    logger: opts.logger ?? silentLogger,
    config,
    identity: opts.identity ?? { id: `test-${Math.random().toString(36).slice(2, 10)}`, pid: process.pid },
    ...(opts.videoTools ? { videoTools: opts.videoTools } : {}),
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
  });
  const finished: string[] = [];
  service.onEvent((e) => {
    if (e.type === 'finished') finished.push(`${e.job.id}:${e.job.status}`);
  });
  const submit = (prompt = 'a fox running through snow', user = 'u1', conversation = 'test:chan1') =>
    service.submit({ input: { prompt }, surface: surf.surface.kind, conversation, requester: { id: user } });
  /** Advances the clock until `pred` holds (bounded), letting real I/O finish in between. */
  async function until(pred: () => boolean | Promise<boolean>, stepMs = 500, maxMs = 3_600_000) {
    for (let t = 0; t <= maxMs; t += stepMs) {
      if (await pred()) return;
      await clock.advance(stepMs);
    }
    await vi.waitFor(async () => {
      if (!(await pred())) throw new Error('condition not reached');
    });
  }
  return { clock, db, store, prov, fetch, surf, service, config, submit, finished, until };
}
