/**
 * `npm run bench` (compiled first, as `npm start` runs): drives the generation core with many simultaneous jobs
 * against the provider emulator and prints, side by side, our figures and those
 * of the reference client from the seeds (create, then poll every 10 s).
 *
 *   npm run bench -- [--jobs 1000] [--warmup 120] [--scale 0.25] [--instances 1] [--store sqlite|redis|memory] [--edits-per-second N]
 *
 * --store picks the job store (default: STORE_URL, else a SQLite file in a temp
 * directory); `redis` starts a redis-server of its own on a free port. With
 * --instances N the jobs are spread over N job services (each with its own
 * identity and store connection) on that one store and measured as a whole.
 * Any run other than one instance on SQLite is also repeated as one instance on
 * SQLite with the same jobs, and both are printed side by side.
 *
 * The bench's chat surface takes every progress edit the core's pace allows (a
 * stress case: no platform does); --edits-per-second N gives it a platform's
 * budget across all jobs instead, e.g. 5 as on Discord or 0.8 as on Slack.
 *
 * --scale shrinks every duration (render times, poll intervals, the reference's
 * 10 s) by the same factor so a run takes about a minute; delays are reported
 * in unscaled seconds. --scale 1 runs in real time.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { createCatalogue } from '../../src/core/catalogue.js';
import { BUILTIN_MODELS } from '../../src/providers/index.js';
import { systemClock } from '../../src/core/clock.js';
import { DEFAULT_POLL_POLICY } from '../../src/core/eta.js';
import { createJobService } from '../../src/core/job-service.js';
import { silentLogger } from '../../src/core/logger.js';
import type { ChatSurface } from '../../src/core/ports.js';
import { createRequestValidator } from '../../src/core/request.js';
import { createVideoFetcher } from '../../src/http/video-fetcher.js';
import { createAimlapiProvider } from '../../src/providers/aimlapi/aimlapi-provider.js';
import { currentIdentity } from '../../src/core/instance.js';
import { openStore } from '../../src/store.js';
import type { Store } from '../../src/store.js';
import { startRedis } from '../helpers/redis.js';
import type { RedisServer } from '../helpers/redis.js';
import { gaussian, mean, prng, quantileOf, startMonitor } from './bench-stats.js';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '1000' },
    warmup: { type: 'string', default: '120' },
    scale: { type: 'string', default: '0.25' },
    instances: { type: 'string', default: '1' },
    store: { type: 'string' },
    'edits-per-second': { type: 'string' },
  },
});
const JOBS = Number(values.jobs);
const WARMUP = Number(values.warmup);
const SCALE = Number(values.scale);
const INSTANCES = Number(values.instances);
const STORE = values.store as StoreKind | undefined;
const EDITS_PER_SECOND = values['edits-per-second'] === undefined ? undefined : Number(values['edits-per-second']);
if (EDITS_PER_SECOND !== undefined && !(EDITS_PER_SECOND > 0)) throw new Error(`--edits-per-second: a number above 0, got "${values['edits-per-second']}"`);
type StoreKind = 'sqlite' | 'redis' | 'memory';
if (!Number.isInteger(INSTANCES) || INSTANCES < 1) throw new Error(`--instances: a whole number >= 1, got "${values.instances}"`);
if (STORE !== undefined && !['sqlite', 'redis', 'memory'].includes(STORE)) throw new Error(`--store: sqlite, redis or memory, got "${STORE}"`);
/** Anything but one instance on SQLite (the default) is compared with one instance on SQLite. */
const COMPARE = INSTANCES > 1 || (STORE !== undefined && STORE !== 'sqlite');
const KEY = 'test-aiml-key';
const REFERENCE_POLL_MS = 10_000 * SCALE;
/** Memory targets: 1,000 jobs in flight under 150 MB, 10,000 under 300 MB. */
const RSS_TARGET_MB = JOBS > 1000 ? 300 : 150;

/** Typical 5 s render times from PROVIDERS.md; the real provider runs 10% slower than documented. */
const MIX = [
  { model: 'lite', image: false, typical: 40 },
  { model: 'pro', image: false, typical: 60 },
  { model: 'lite', image: true, typical: 90 },
  { model: 'pro', image: true, typical: 56 },
];
const DRIFT = 1.1;
const SPREAD = 0.12;
const IMAGE = { kind: 'url' as const, url: 'https://images.example/first-frame.png', mime: 'image/png', width: 1280, height: 720, bytes: 250_000 };

interface Spec {
  n: number;
  model: string;
  image: boolean;
  renderMs: number;
  arriveAt: number;
}

function draw(count: number, seed: number, arrivalWindowMs: number): Spec[] {
  const rand = prng(seed);
  return Array.from({ length: count }, (_, n) => {
    const mix = MIX[n % MIX.length]!;
    const renderMs = Math.round(mix.typical * 1000 * DRIFT * Math.exp(SPREAD * gaussian(rand)) * SCALE);
    return { n, model: mix.model, image: mix.image, renderMs, arriveAt: Math.round(rand() * arrivalWindowMs) };
  });
}
const promptOf = (stage: string, s: Spec) => `bench ${stage} job ${s.n} render=${s.renderMs}`;

async function startEmulator() {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/bench/bench-emulator.ts'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  const urls = JSON.parse(line) as { aimlapiUrl: string };
  return { url: urls.aimlapiUrl, stop: () => child.kill('SIGTERM') };
}

interface EmuJob {
  body: { prompt: string };
  readyAt: number;
  firstCompletedSeenAt?: number;
  statusPolls: number;
}

async function emulatorJobs(url: string, stage: string): Promise<EmuJob[]> {
  const res = await request(`${url}/__emulator/jobs`);
  const all = (await res.body.json()) as EmuJob[];
  return all.filter((j) => j.body.prompt.startsWith(`bench ${stage} `));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface RunSetup {
  /** STORE_URL for every instance; `memory:` gives them one shared in-memory store. */
  storeUrl: string | undefined;
  instances: number;
}

/** Our core, exactly as the bot wires it, with every duration scaled: `instances` job services on one store. */
async function runOurs(url: string, stages: { name: string; specs: Spec[] }[], setup: RunSetup) {
  const dir = mkdtempSync(join(tmpdir(), 'seedance-bench-'));
  const stores: Store[] = [];
  for (let i = 0; i < setup.instances; i++) {
    // Each instance opens its own connection, as separate processes would; the in-memory store can only be shared as one object.
    if (i > 0 && setup.storeUrl === 'memory:') stores.push({ ...stores[0]!, close: async () => {} });
    else stores.push(await openStore(setup.storeUrl, dir));
  }
  const { kv } = stores[0]!;
  const dispatcher = new Agent({ connections: 64, keepAliveTimeout: 30_000 });
  const models = BUILTIN_MODELS.map((m) => ({ ...m, typicalSeconds: m.typicalSeconds * SCALE }));
  const catalogue = createCatalogue(models, { providers: ['aimlapi'] });
  const edits = new Map<string, number>();
  let delivered = 0;
  const surface: ChatSurface = {
    kind: 'bench',
    progressIntervalMs: 5000 * SCALE,
    ...(EDITS_PER_SECOND !== undefined ? { maxEditsPerSecond: EDITS_PER_SECOND / SCALE } : {}),
    async post(conversation) {
      return `${conversation}#progress`;
    },
    async edit(ref, message) {
      if (message.kind === 'progress') edits.set(message.job.id, (edits.get(message.job.id) ?? 0) + 1);
    },
    async maxUploadBytes() {
      return 10 * 1024 * 1024;
    },
    async upload(conversation) {
      delivered++;
      return `${conversation}#video`;
    },
  };
  const services = stores.map((store, i) => {
    const workDir = setup.instances === 1 ? dir : join(dir, `instance-${i}`);
    return createJobService({
      store: store.jobs,
      identity: currentIdentity(),
      providers: { aimlapi: createAimlapiProvider({ baseUrl: url, apiKey: KEY, dispatcher }) },
      catalogue,
      validator: createRequestValidator(catalogue, { model: 'lite', resolution: '720p', duration: 5 }),
      surfaces: [surface],
      fetcher: createVideoFetcher(dispatcher),
      clock: systemClock,
      logger: silentLogger,
      config: {
        maxPerUser: 10,
        maxQueuedPerUser: 10,
        maxInFlight: 5000,
        maxQueueLength: 1_000_000,
        maxAgeMs: 30 * 60_000,
        maxVideoBytes: 200 * 1024 * 1024,
        videosCapBytes: 4 * 1024 * 1024 * 1024,
        deliveryDeadlineMs: 6 * 3_600_000,
        leaseMs: 60_000,
        pollPolicy: {
          ...DEFAULT_POLL_POLICY,
          minIntervalMs: DEFAULT_POLL_POLICY.minIntervalMs * SCALE,
          maxIntervalMs: DEFAULT_POLL_POLICY.maxIntervalMs * SCALE,
          firstPollMs: DEFAULT_POLL_POLICY.firstPollMs * SCALE,
        },
        pollConcurrency: 32,
        workDir,
        unknownStatusGraceMs: 60_000,
      },
    });
  });
  for (const service of services) await service.start();
  const activeCount = () => services.reduce((n, s) => n + s.activeCount(), 0);
  const results: Record<string, { monitor: ReturnType<ReturnType<typeof startMonitor>['stop']>; peakInFlight: number; jobIds: string[]; perInstance: { submitted: number; peakInFlight: number }[] }> = {};
  for (const stage of stages) {
    const target = delivered + stage.specs.length;
    const jobIds: string[] = [];
    let peakInFlight = 0;
    const perInstance = services.map(() => ({ submitted: 0, peakInFlight: 0 }));
    const monitor = startMonitor();
    const t0 = Date.now();
    const submits = stage.specs.map(async (s) => {
      await sleep(s.arriveAt);
      perInstance[s.n % services.length]!.submitted++;
      const { job } = await services[s.n % services.length]!.submit({
        input: { prompt: promptOf(stage.name, s), model: s.model, ...(s.image ? { image: IMAGE } : {}) },
        surface: 'bench',
        conversation: `bench:${stage.name}:${s.n}`,
        requester: { id: `user-${s.n}` },
      });
      jobIds.push(job.id);
    });
    let last = delivered;
    let lastChange = Date.now();
    while (delivered < target) {
      peakInFlight = Math.max(peakInFlight, activeCount());
      services.forEach((service, i) => (perInstance[i]!.peakInFlight = Math.max(perInstance[i]!.peakInFlight, service.activeCount())));
      await sleep(50);
      if (delivered !== last) [last, lastChange] = [delivered, Date.now()];
      if (Date.now() - lastChange > 60_000 || Date.now() - t0 > 30 * 60_000) {
        const states = await (kv.opts.store as unknown as { query(sql: string): Promise<unknown[]> }).query?.('SELECT status, count(*) AS n FROM sd_jobs GROUP BY status').catch(() => undefined);
        throw new Error(`bench stage ${stage.name} stalled at ${delivered - (target - stage.specs.length)}/${stage.specs.length} delivered; jobs by status: ${JSON.stringify(states)}`);
      }
    }
    await Promise.all(submits);
    results[stage.name] = { monitor: monitor.stop(), peakInFlight, jobIds, perInstance };
  }
  const progress = (ids: string[]) => mean(ids.map((id) => edits.get(id) ?? 0));
  for (const service of services) await service.stop();
  for (const store of stores) await store.close();
  await dispatcher.close();
  rmSync(dir, { recursive: true, force: true });
  return { results, progress };
}

/** The seeds' client: create, poll at once, then every 10 s until done. One timer per job. */
async function runReference(url: string, name: string, specs: Spec[]) {
  const dispatcher = new Agent({ connections: 64 });
  const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
  const monitor = startMonitor();
  let inFlight = 0;
  let peakInFlight = 0;
  await Promise.all(
    specs.map(async (s) => {
      await sleep(s.arriveAt);
      const model = `bytedance/seedance-1-0-${s.model}-${s.image ? 'i2v' : 't2v'}`;
      const body = { model, prompt: promptOf(name, s), ...(s.image ? { image_url: IMAGE.url } : {}) };
      const created = await request(`${url}/v2/generate/video/bytedance/generation`, { dispatcher, method: 'POST', headers, body: JSON.stringify(body) });
      const { id } = (await created.body.json()) as { id: string };
      inFlight++;
      peakInFlight = Math.max(peakInFlight, inFlight);
      for (;;) {
        const res = await request(`${url}/v2/generate/video/bytedance/generation?generation_id=${id}`, { dispatcher, headers });
        const { status } = (await res.body.json()) as { status: string };
        if (!['waiting', 'active', 'queued', 'generating'].includes(status)) break;
        await sleep(REFERENCE_POLL_MS);
      }
      inFlight--;
    }),
  );
  await dispatcher.close();
  return { monitor: monitor.stop(), peakInFlight };
}

function figures(jobs: EmuJob[]) {
  const delays = jobs.map((j) => ((j.firstCompletedSeenAt ?? NaN) - j.readyAt) / SCALE / 1000);
  return { median: quantileOf(delays, 0.5), p95: quantileOf(delays, 0.95), polls: mean(jobs.map((j) => j.statusPolls)), n: jobs.length };
}

/** Where the run under test keeps its jobs, and what to call it in the table. */
async function subjectStore(): Promise<{ storeUrl: string | undefined; name: string; redis?: RedisServer }> {
  if (STORE === undefined) return { storeUrl: process.env.STORE_URL, name: process.env.STORE_URL?.split(':')[0] ?? 'sqlite' };
  if (STORE === 'sqlite') return { storeUrl: undefined, name: 'sqlite' };
  if (STORE === 'memory') return { storeUrl: 'memory:', name: 'memory' };
  const redis = await startRedis();
  return { storeUrl: redis.url({ prefix: 'bench' }), name: 'redis', redis };
}

const warmupLine = (label: string, f: ReturnType<typeof figures>) =>
  `warm-up${label} (${f.n} jobs, learning from scratch): detection median ${f.median.toFixed(2)} s, p95 ${f.p95.toFixed(2)} s, ${f.polls.toFixed(2)} status requests per job\n`;

async function main() {
  const emulator = await startEmulator();
  const store = await subjectStore();
  try {
    const setupText = COMPARE ? `, ${INSTANCES} instance${INSTANCES > 1 ? 's' : ''} on ${store.name} beside 1 on sqlite` : '';
    const editsText = EDITS_PER_SECOND !== undefined ? `, progress edits at most ${EDITS_PER_SECOND}/s` : '';
    process.stdout.write(`seedance-bot bench: ${WARMUP} warm-up + ${JOBS} measured jobs, time scale ${SCALE}${setupText}${editsText} (figures in real seconds)\n`);
    const warm = draw(WARMUP, 1, 60_000 * SCALE);
    const burst = draw(JOBS, 2, 20_000 * SCALE);
    const t0 = Date.now();
    const ours = await runOurs(
      emulator.url,
      [
        { name: 'warmup', specs: warm },
        { name: 'burst', specs: burst },
      ],
      { storeUrl: store.storeUrl, instances: INSTANCES },
    );
    // The baseline runs after the run under test, in the same process: its RSS is not its own.
    const base = COMPARE
      ? await runOurs(
          emulator.url,
          [
            { name: 'base-warmup', specs: warm },
            { name: 'base-burst', specs: burst },
          ],
          { storeUrl: undefined, instances: 1 },
        )
      : undefined;
    const reference = await runReference(emulator.url, 'reference', burst);
    const wall = (Date.now() - t0) / 1000;
    const [fw, fo, fr] = [figures(await emulatorJobs(emulator.url, 'warmup')), figures(await emulatorJobs(emulator.url, 'burst')), figures(await emulatorJobs(emulator.url, 'reference'))];
    const [bw, fb] = base ? [figures(await emulatorJobs(emulator.url, 'base-warmup')), figures(await emulatorJobs(emulator.url, 'base-burst'))] : [undefined, undefined];
    const o = ours.results.burst!;
    const b = base?.results['base-burst'];
    // One row: the run under test, [the single-instance SQLite baseline,] the reference.
    const row = (metric: string, subject: string, baseline: string | undefined, ref: string): string[] => (base ? [metric, subject, baseline ?? '', ref] : [metric, subject, ref]);
    const rows: string[][] = [
      row('jobs measured', `${fo.n}`, fb && `${fb.n}`, `${fr.n}`),
      row('peak jobs in flight', `${o.peakInFlight}`, b && `${b.peakInFlight}`, `${reference.peakInFlight}`),
      row('detection delay median (s)', fo.median.toFixed(2), fb?.median.toFixed(2), fr.median.toFixed(2)),
      row('detection delay p95 (s)', fo.p95.toFixed(2), fb?.p95.toFixed(2), fr.p95.toFixed(2)),
      row('status requests per job', fo.polls.toFixed(2), fb?.polls.toFixed(2), fr.polls.toFixed(2)),
      row('progress updates per job', ours.progress(o.jobIds).toFixed(2), b && base.progress(b.jobIds).toFixed(2), '0 (none)'),
      row('peak RSS (MB)', o.monitor.peakRssMb.toFixed(1), b?.monitor.peakRssMb.toFixed(1), reference.monitor.peakRssMb.toFixed(1)),
      row('event-loop delay p99 (ms)', o.monitor.eldP99Ms.toFixed(2), b?.monitor.eldP99Ms.toFixed(2), reference.monitor.eldP99Ms.toFixed(2)),
      row('event-loop delay max (ms)', o.monitor.eldMaxMs.toFixed(2), b?.monitor.eldMaxMs.toFixed(2), reference.monitor.eldMaxMs.toFixed(2)),
      row('longest GC pause (ms)', o.monitor.gcMaxMs.toFixed(2), b?.monitor.gcMaxMs.toFixed(2), reference.monitor.gcMaxMs.toFixed(2)),
    ];
    const header = base ? ['metric', `${INSTANCES} x ${store.name}`, '1 x sqlite', 'reference (10 s poll)'] : ['metric', 'seedance-bot', 'reference (10 s poll)'];
    const w = base ? [30, 14, 14, 22] : [30, 14, 22];
    const line = (cells: string[]) => `${cells.map((c, i) => (i === 0 ? c.padEnd(w[0]!) : c.padStart(w[i]!))).join('')}\n`;
    process.stdout.write(`\n${line(header)}`);
    for (const r of rows) process.stdout.write(line(r));
    if (INSTANCES > 1) process.stdout.write(`\n${INSTANCES} x ${store.name}, per instance: jobs submitted ${o.perInstance.map((p) => p.submitted).join(' / ')}, peak in flight ${o.perInstance.map((p) => p.peakInFlight).join(' / ')}\n`);
    process.stdout.write(`\n${warmupLine(base ? ` ${INSTANCES} x ${store.name}` : '', fw)}`);
    if (bw) process.stdout.write(warmupLine(' 1 x sqlite', bw));
    const checks: [string, boolean][] = [
      [`median detection delay <= 0.4x reference (${(fo.median / fr.median).toFixed(2)}x)`, fo.median <= 0.4 * fr.median],
      [`status requests <= 1.5x reference (${(fo.polls / fr.polls).toFixed(2)}x)`, fo.polls <= 1.5 * fr.polls],
      [`${o.peakInFlight} jobs in flight under ${RSS_TARGET_MB} MB RSS (${o.monitor.peakRssMb.toFixed(1)} MB)`, o.peakInFlight >= Math.min(JOBS, 1000) && o.monitor.peakRssMb < RSS_TARGET_MB],
      [`event-loop delay p99 under 20 ms (${o.monitor.eldP99Ms.toFixed(2)} ms)`, o.monitor.eldP99Ms < 20],
    ];
    if (fb) checks.push([`status requests per job <= 1.2x single instance (${(fo.polls / fb.polls).toFixed(2)}x)`, fo.polls <= 1.2 * fb.polls]);
    process.stdout.write('\ntargets:\n');
    for (const [text, ok] of checks) process.stdout.write(`  ${ok ? 'PASS' : 'FAIL'}  ${text}\n`);
    process.stdout.write(`\nwall time ${wall.toFixed(0)} s\n`);
    process.exitCode = checks.every(([, ok]) => ok) ? 0 : 1;
  } finally {
    emulator.stop();
    await store.redis?.stop();
  }
}

await main();
