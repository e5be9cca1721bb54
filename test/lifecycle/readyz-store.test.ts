/**
 * /readyz and `seedance_store_up` follow the store of the real bot process
 * (`src/index.ts`) after start-up: on a real redis-server that hangs (SIGSTOP),
 * wakes up (SIGCONT), hangs again and dies (SIGKILL) before it is started again
 * on the same port, and on SQLite while another connection holds the write lock
 * (every write fails with SQLITE_BUSY; as root a chmod would not stop writes).
 * Meanwhile /readyz is 503 naming the store, /healthz stays 200 (an outage of
 * the store is no reason to restart the process), and the bot is ready again
 * once the store answers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startProviderEmulator } from '../emulator/provider-emulator.js';
import type { ProviderEmulator } from '../emulator/provider-emulator.js';
import { baseBotEnv, botProcess } from '../helpers/bot-process.js';
import type { BotProcess } from '../helpers/bot-process.js';
import { startRedis } from '../helpers/redis.js';
import type { RedisServer } from '../helpers/redis.js';
import { lockDatabase } from '../helpers/sqlite.js';
import type { DatabaseLock } from '../helpers/sqlite.js';

interface Probe {
  status: number;
  body: Record<string, unknown>;
}

interface World {
  bot: BotProcess;
  dataDir: string;
  /** Starts the bot (no chat platform: ready as soon as the core runs) and finds its health port. */
  start(env?: Record<string, string>): Promise<void>;
  health(path: '/readyz' | '/healthz'): Promise<Probe>;
  /** `seedance_store_up` as scraped from /metrics (undefined when there is no such sample). */
  storeUp(): Promise<number | undefined>;
  /** Polls /readyz until `pred` holds (30 s at most) and returns that answer. */
  readyzUntil(pred: (p: Probe) => boolean, what: string): Promise<Probe>;
  close(): Promise<void>;
}

let emulator: ProviderEmulator | undefined;
let redis: RedisServer | undefined;
let lock: DatabaseLock | undefined;
let world: World | undefined;
afterEach(async () => {
  await lock?.release();
  await world?.close();
  await redis?.stop();
  await emulator?.close();
  [lock, world, redis, emulator] = [undefined, undefined, undefined, undefined];
});

async function createWorld(): Promise<World> {
  emulator = await startProviderEmulator();
  const env = baseBotEnv(emulator, mkdtempSync(join(tmpdir(), 'seedance-readyz-')));
  const bot = botProcess();
  let base = '';
  const health = async (path: string): Promise<Probe> => {
    const res = await fetch(`${base}${path}`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  return {
    bot,
    dataDir: env.DATA_DIR!,
    async start(extra = {}) {
      // Renewed every second: on SQLite the lease renewal is the write that finds the store failing.
      await bot.start({ ...env, LEASE_SECONDS: '3', ...extra });
      const running = bot
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{') && l.includes('seedance-bot is running'))
        .map((l) => JSON.parse(l) as { health: number })
        .at(-1)!;
      base = `http://127.0.0.1:${running.health}`;
    },
    health,
    async storeUp() {
      const res = await fetch(`${base}/metrics`);
      expect(res.status).toBe(200);
      const sample = /^seedance_store_up (\S+)$/m.exec(await res.text());
      return sample ? Number(sample[1]) : undefined;
    },
    async readyzUntil(pred, what) {
      let last: Probe | undefined;
      for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
        last = await health('/readyz');
        if (pred(last)) return last;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`/readyz did not turn ${what} within 30 s; last: ${JSON.stringify(last)}`);
    },
    async close() {
      await bot.stop('SIGKILL');
      rmSync(env.DATA_DIR!, { recursive: true, force: true });
    },
  };
}

/** Runs the body, adding the bot's output to a failure. */
async function withOutput(w: World, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    if (err instanceof Error) err.message += `\n--- bot output ---\n${w.bot.output().slice(-6000)}`;
    throw err;
  }
}

const READY = { status: 200, body: { ready: true } };
const isReady = (p: Probe) => p.status === 200;
const notReady = (p: Probe) => p.status === 503;

describe('/readyz and seedance_store_up follow the store after start-up', () => {
  it('on Redis: 503 naming the store while the server hangs or is gone, /healthz 200 throughout, ready again once it answers', async () => {
    redis = await startRedis();
    const server = redis;
    const w = (world = await createWorld());
    await withOutput(w, async () => {
      await w.start({ STORE_URL: server.url({ prefix: 'readyz' }) });
      expect(await w.health('/readyz')).toEqual(READY);
      expect(await w.storeUp()).toBe(1);
      const where = `Redis at 127.0.0.1:${server.port}/0`;

      // Hung: the connection stays open and nothing answers; the watchdog's PING goes unanswered.
      server.pause();
      const hung = await w.readyzUntil(notReady, '503 while Redis is stopped');
      expect(hung.body).toEqual({ ready: false, reason: expect.stringMatching(new RegExp(`^store unreachable: ${where} did not answer a PING within \\d+ ms`)) });
      expect(await w.health('/healthz')).toMatchObject({ status: 200, body: { ok: true, phase: 'running' } });
      expect(await w.storeUp()).toBe(0);

      // Awake again: ready.
      server.resume();
      expect(await w.readyzUntil(isReady, '200 once Redis answers again')).toEqual(READY);
      expect(await w.storeUp()).toBe(1);

      // Hung, then killed: still not ready while nothing listens on the port.
      server.pause();
      await w.readyzUntil(notReady, '503 while Redis is stopped again');
      await server.kill();
      const gone = await w.readyzUntil((p) => notReady(p) && /ECONNREFUSED|closed/i.test(String(p.body.reason)), '503 saying the connection is refused');
      expect(gone.body).toEqual({ ready: false, reason: expect.stringMatching(new RegExp(`^store unreachable: ${where} .*; reconnecting`)) });
      expect(await w.health('/healthz')).toMatchObject({ status: 200, body: { ok: true } });
      expect(await w.storeUp()).toBe(0);

      // Started again on the same port (empty): the same connection reconnects, ready again.
      await server.restart();
      expect(await w.readyzUntil(isReady, '200 once Redis is back')).toEqual(READY);
      expect(await w.storeUp()).toBe(1);
      expect(await w.health('/healthz')).toMatchObject({ status: 200 });
      // The store works for the bot again: its lease is written anew to the empty server.
      await expect.poll(() => server.command('KEYS', 'readyz:lease:*'), { timeout: 10_000, interval: 100 }).toMatch(/^\*1\r\n/);

      // The process lived through it all and still shuts down cleanly.
      const exited = w.bot.exited();
      expect(w.bot.signal('SIGTERM')).toBe(true);
      expect(await exited).toMatchObject({ code: 0, signal: null });
    });
  }, 120_000);

  it('on SQLite: 503 naming the store while its writes fail (the file locked by another connection), ready again once released', async () => {
    const w = (world = await createWorld());
    await withOutput(w, async () => {
      await w.start();
      expect(await w.health('/readyz')).toEqual(READY);
      expect(await w.storeUp()).toBe(1);

      // The lease renewal waits out the busy timeout (10 s), then fails with SQLITE_BUSY.
      lock = await lockDatabase(join(w.dataDir, 'seedance.sqlite'));
      const failing = await w.readyzUntil(notReady, '503 while SQLite writes fail');
      expect(failing.body).toEqual({ ready: false, reason: expect.stringMatching(/^store unreachable: SQLite could not write \(SQLITE_BUSY: database is locked\)/) });
      expect(await w.health('/healthz')).toMatchObject({ status: 200, body: { ok: true, phase: 'running' } });
      expect(await w.storeUp()).toBe(0);

      await lock.release();
      expect(await w.readyzUntil(isReady, '200 once SQLite takes writes again')).toEqual(READY);
      expect(await w.storeUp()).toBe(1);
    });
  }, 120_000);
});
