/**
 * GET /metrics: the real bot process (`src/index.ts`) with the provider
 * emulator and the Discord stand-in, scraped over HTTP on its health port
 * while jobs end delivered, failed and cancelled; the Prometheus text is parsed
 * and checked series by series. Then the adapter alone: one registry per call,
 * and the health server serves /metrics only when given one.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startHealthServer } from '../src/health.js';
import { createMetrics } from '../src/metrics.js';
import { IDS, STRING, createWorld } from './discord/bot-world.js';
import type { World } from './discord/bot-world.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format (samples only; # HELP and # TYPE lines skipped). */
function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The value of the one sample named `name` whose labels include `labels` (undefined when none). */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const hits = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (hits.length > 1) throw new Error(`${hits.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return hits[0]?.value;
}

/** The sum over every sample named `name` whose labels include `labels`. */
const total = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);

describe('GET /metrics on the bot’s health port', () => {
  let w: World | undefined;
  afterEach(async () => {
    await w?.close();
    w = undefined;
  });

  it('counts jobs delivered, failed and cancelled, provider requests, times, credits and uploads, with bounded labels', async () => {
    w = await createWorld();
    const world = w;
    await world.startBot();
    const running = world
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{') && l.includes('seedance-bot is running'))
      .map((l) => JSON.parse(l) as { health: number })[0]!;
    const base = `http://127.0.0.1:${running.health}`;
    const scrape = async () => {
      const res = await fetch(`${base}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      return res.text();
    };
    const samples = async () => parse(await scrape());
    const waitForMetric = async (pred: (s: Sample[]) => boolean, timeoutMs = 20_000) => {
      for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
        const s = await samples();
        if (pred(s)) return s;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`metric condition not reached:\n${await scrape()}`);
    };
    const video = (prompt: string) => world.discord.slashCommand({ name: 'video', channelId: IDS.general, options: [{ name: 'prompt', type: STRING, value: prompt }] });

    // Before any job: the gauges are there, at 0, and so are the default process metrics.
    const first = await samples();
    for (const state of ['queued', 'submitting', 'running', 'completed', 'delivering']) expect(value(first, 'seedance_jobs_active', { state })).toBe(0);
    expect(value(first, 'seedance_queue_length')).toBe(0);
    expect(value(first, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(value(first, 'seedance_render_seconds_count')).toBe(0);

    // Delivered, after one status check answered 503.
    world.emulator.addFault({ service: 'aimlapi', method: 'GET', pathIncludes: 'generation_id', kind: 'status', status: 503, times: 1 });
    video('a red fox trots through fresh snow');
    await waitForMetric((s) => value(s, 'seedance_jobs_finished_total', { outcome: 'delivered' }) === 1);

    // Failed: the provider reports the generation failed.
    world.emulator.settings.failNext = 1;
    video('a blue heron lifts off the lake');
    await waitForMetric((s) => value(s, 'seedance_jobs_finished_total', { outcome: 'failed' }) === 1);

    // Cancelled while rendering ("slow" renders for a minute); the running gauge sees it at scrape time.
    const slow = video('a slow green turtle crosses the road');
    const reply = await world.discord.waitFor(() => world.discord.interactionResponses.get(slow.id));
    const progressId = reply.messageId!;
    await waitForMetric((s) => value(s, 'seedance_jobs_active', { state: 'running' }) === 1);
    const cancelId = await world.discord.waitFor(() => /sd:cancel:[\w-]+/.exec(JSON.stringify(world.discord.messages.get(progressId)?.components ?? []))?.[0]);
    world.discord.clickButton({ messageId: progressId, customId: cancelId });
    const end = await waitForMetric((s) => value(s, 'seedance_jobs_finished_total', { outcome: 'cancelled' }) === 1);

    const model = 'aimlapi/seedance-1-0-lite-t2v';
    expect(new Set(end.filter((s) => s.name === 'seedance_jobs_started_total').map((s) => s.labels.model))).toEqual(new Set([model]));
    expect(value(end, 'seedance_jobs_started_total', { surface: 'discord', model })).toBe(3);
    for (const outcome of ['delivered', 'failed', 'cancelled']) expect(value(end, 'seedance_jobs_finished_total', { surface: 'discord', model, outcome })).toBe(1);
    expect(total(end, 'seedance_jobs_finished_total')).toBe(3);
    for (const state of ['queued', 'submitting', 'running', 'completed', 'delivering']) expect(value(end, 'seedance_jobs_active', { state })).toBe(0);
    expect(value(end, 'seedance_queue_length')).toBe(0);

    // Every request the emulator saw from the bot is counted once, by its kind and how it went.
    const creates = world.emulator.count({ service: 'aimlapi', kind: 'create' });
    const polls = world.emulator.count({ service: 'aimlapi', kind: 'poll' });
    const downloads = world.emulator.count({ service: 'cdn', kind: 'download' });
    expect([creates, downloads]).toEqual([3, 1]);
    expect(value(end, 'seedance_provider_requests_total', { provider: 'aimlapi', op: 'create', status: '2xx' })).toBe(3);
    expect(value(end, 'seedance_provider_requests_total', { provider: 'aimlapi', op: 'status', status: '503' })).toBe(1);
    expect(total(end, 'seedance_provider_requests_total', { op: 'status' })).toBe(polls);
    expect(value(end, 'seedance_provider_requests_total', { provider: 'aimlapi', op: 'download', status: '2xx' })).toBe(1);

    // One render watched to the end and one delivery; the emulator's renders take 400 ms here.
    expect(value(end, 'seedance_render_seconds_count')).toBe(1);
    expect(value(end, 'seedance_render_seconds_sum')).toBeGreaterThan(0.3);
    expect(value(end, 'seedance_render_seconds_bucket', { le: '+Inf' })).toBe(1);
    expect(value(end, 'seedance_delivery_seconds_count')).toBe(1);
    expect(value(end, 'seedance_credits_used_total', { provider: 'aimlapi' })).toBe(120000);
    expect(value(end, 'seedance_uploads_total', { surface: 'discord', as: 'file' })).toBe(1);
    expect(total(end, 'seedance_uploads_total')).toBe(1);

    // Labels come from small fixed sets: no user, channel, server, job id or prompt text anywhere.
    const allowed: Record<string, RegExp> = {
      surface: /^discord$/,
      model: /^aimlapi\/seedance-[\w.-]+$/,
      outcome: /^(delivered|failed|timed_out|cancelled|submit_unknown)$/,
      state: /^(queued|submitting|running|completed|delivering)$/,
      provider: /^aimlapi$/,
      op: /^(create|status|download)$/,
      status: /^(2xx|\d{3}|[1-5]xx|bad_response|timeout|network|error)$/,
      as: /^(file|compressed|link)$/,
      le: /^([\d.]+|\+Inf)$/,
    };
    const ours = end.filter((s) => s.name.startsWith('seedance_'));
    for (const s of ours) for (const [k, v] of Object.entries(s.labels)) expect(v, `${s.name} ${k}`).toMatch(allowed[k] ?? /^$/);
    const text = await scrape();
    const jobId = /sd:cancel:([\w-]+)/.exec(cancelId)![1]!;
    for (const secret of [IDS.alice, IDS.general, IDS.guild, jobId, 'fox', 'heron', 'turtle']) expect(text).not.toContain(secret);
  }, 90_000);
});

describe('the metrics adapter', () => {
  const servers: Server[] = [];
  afterEach(() => {
    for (const s of servers.splice(0)) s.close();
  });

  it('keeps one registry per instance, reads the gauges when scraped, and is served only when given', async () => {
    const a = createMetrics({ defaultMetrics: false });
    const b = createMetrics();
    a.core.jobStarted('slack', 'aimlapi/seedance-2-0');
    a.core.renderSeconds(42);
    let queueLength = 3;
    a.watch({ jobCounts: () => ({ active: { queued: queueLength, submitting: 0, running: 2, completed: 0, delivering: 1 }, queueLength }) });

    const withMetrics = await startHealthServer(0, '127.0.0.1', () => ({}), undefined, a.registry);
    const without = await startHealthServer(0, '127.0.0.1', () => ({}));
    servers.push(withMetrics, without);
    const url = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}/metrics`;
    const scrape = async () => parse(await (await fetch(url(withMetrics))).text());

    const one = await scrape();
    expect(value(one, 'seedance_jobs_started_total', { surface: 'slack', model: 'aimlapi/seedance-2-0' })).toBe(1);
    expect(value(one, 'seedance_render_seconds_bucket', { le: '45' })).toBe(1);
    expect(value(one, 'seedance_render_seconds_bucket', { le: '30' })).toBe(0);
    expect(value(one, 'seedance_jobs_active', { state: 'running' })).toBe(2);
    expect(value(one, 'seedance_queue_length')).toBe(3);
    expect(value(one, 'process_cpu_user_seconds_total')).toBeUndefined();
    queueLength = 0;
    expect(value(await scrape(), 'seedance_queue_length')).toBe(0);

    // The other instance has its own series (and the default process metrics), untouched by the first.
    const other = parse(await b.registry.metrics());
    expect(value(other, 'seedance_jobs_started_total')).toBeUndefined();
    expect(value(other, 'seedance_render_seconds_count')).toBe(0);
    expect(value(other, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    // Nothing watched yet (the bot's health port is up before its store opens): every gauge at 0.
    expect(value(other, 'seedance_jobs_active', { state: 'delivering' })).toBe(0);
    expect(value(other, 'seedance_queue_length')).toBe(0);

    expect((await fetch(url(without))).status).toBe(404);
  });
});
