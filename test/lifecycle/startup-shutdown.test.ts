/**
 * Start-up and shutdown of the real bot process (`src/index.ts`): a platform
 * that fails to connect (Slack's auth.test failing, a Discord READY that never
 * comes) is retried while the core and the other platforms run, and /readyz
 * says why the bot is not ready; SIGTERM drains uploads under way for
 * SHUTDOWN_GRACE_S (or not, when the grace is short or a second signal comes),
 * and whatever was cut short is delivered exactly once after a restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startProviderEmulator } from '../emulator/provider-emulator.js';
import type { ProviderEmulator } from '../emulator/provider-emulator.js';
import { baseBotEnv, botProcess } from '../helpers/bot-process.js';
import type { BotProcess } from '../helpers/bot-process.js';
import { IDS, STRING } from '../discord/bot-world.js';
import { startDiscordStandin } from '../discord/standin/discord-standin.js';
import type { ChaosRequest, DiscordStandin, RecordedCall, StandinMessage } from '../discord/standin/discord-standin.js';
import { createSlackSender } from '../slack/standin/slack-signer.js';
import { startSlackStandin } from '../slack/standin/slack-standin.js';
import type { SlackStandin } from '../slack/standin/slack-standin.js';

const RESTARTING = 'The bot is restarting. Nothing was started';
const EPHEMERAL = 64;
const SLACK_SECRET = 'lifecycle-signing-secret';

/** A port that was free a moment ago, so /readyz can be asked before the bot says it is running. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(0, '127.0.0.1', () => resolve()));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

interface Probe {
  status: number;
  body: Record<string, unknown>;
}

interface Lifecycle {
  emulator: ProviderEmulator;
  discord: DiscordStandin;
  slack?: SlackStandin;
  bot: BotProcess;
  healthPort: number;
  /** Starts the bot (waits for 'seedance-bot is running'); returns where its output starts. */
  start(extra?: Record<string, string>): Promise<number>;
  health(path: '/readyz' | '/healthz'): Promise<Probe>;
  close(): Promise<void>;
}

async function lifecycle(opts: { slack?: boolean; env?: Record<string, string> } = {}): Promise<Lifecycle> {
  // Prompts that say "long" render for 4 s, so a job can outlive a restart.
  const emulator = await startProviderEmulator({ renderMs: ({ body }) => (/\blong\b/.test(String(body.prompt)) ? 4000 : 300) });
  const discord = await startDiscordStandin({
    guilds: [{ id: IDS.guild, name: 'Test Guild', channels: [{ id: IDS.general, name: 'general' }, { id: IDS.second, name: 'second' }] }],
  });
  const slack = opts.slack ? await startSlackStandin() : undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'seedance-lifecycle-'));
  const healthPort = await freePort();
  const bot = botProcess();
  return {
    emulator,
    discord,
    ...(slack ? { slack } : {}),
    bot,
    healthPort,
    async start(extra = {}) {
      const mark = bot.output().length;
      await bot.start({
        ...baseBotEnv(emulator, dataDir),
        HEALTH_PORT: String(healthPort),
        HEALTH_HOST: '127.0.0.1',
        DISCORD_TOKEN: discord.token,
        DISCORD_APPLICATION_ID: discord.applicationId,
        DISCORD_API_URL: `${discord.url}/api`,
        DISCORD_PROGRESS_INTERVAL_MS: '200',
        ...(slack
          ? { SLACK_BOT_TOKEN: slack.botToken, SLACK_SIGNING_SECRET: SLACK_SECRET, SLACK_API_URL: `${slack.url}/api/`, PORT: '0', SLACK_PROGRESS_INTERVAL_MS: '200' }
          : {}),
        ...opts.env,
        ...extra,
      });
      return mark;
    },
    async health(path) {
      const res = await fetch(`http://127.0.0.1:${healthPort}${path}`);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    async close() {
      await bot.stop('SIGKILL');
      await slack?.close();
      await discord.close();
      await emulator.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Runs a test body in a fresh world and closes it, adding the bot's output to a failure. */
async function inWorld(l: Lifecycle, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    if (err instanceof Error) err.message += `\n--- bot output ---\n${l.bot.output().slice(-6000)}`;
    throw err;
  } finally {
    await l.close();
  }
}

/** The log lines (parsed JSON) since `mark` whose msg includes `text`. */
function logged(l: Lifecycle, text: string, mark = 0): Record<string, unknown>[] {
  return l.bot
    .output()
    .slice(mark)
    .split('\n')
    .filter((line) => line.startsWith('{') && line.includes(text))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => String(entry.msg).includes(text));
}

/** The log lines since `mark` whose msg is exactly `msg`. */
const loggedExactly = (l: Lifecycle, msg: string, mark = 0) => logged(l, msg, mark).filter((e) => e.msg === msg);

function runningLine(l: Lifecycle, mark: number): { platforms: Record<string, string>; resumed: number } {
  const line = logged(l, 'seedance-bot is running', mark).at(-1);
  if (!line) throw new Error('no running line');
  return line as unknown as { platforms: Record<string, string>; resumed: number };
}

function video(l: Lifecycle, prompt: string, channelId: string = IDS.general): { id: string } {
  return l.discord.slashCommand({ name: 'video', channelId, options: [{ name: 'prompt', type: STRING, value: prompt }] });
}

async function progressOf(l: Lifecycle, interactionId: string): Promise<string> {
  const reply = await l.discord.waitFor(() => l.discord.interactionResponses.get(interactionId));
  if (!reply.messageId) throw new Error(`the /video reply has no message: ${JSON.stringify(reply)}`);
  return reply.messageId;
}

/** Bot messages with an .mp4 replying to the progress message. */
function videosFor(l: Lifecycle, progressId: string): StandinMessage[] {
  return [...l.discord.messages.values()].filter(
    (m) => !m.deleted && m.messageReference?.message_id === progressId && m.attachments.some((a) => a.filename.endsWith('.mp4')),
  );
}

const creates = (l: Lifecycle) => l.emulator.count({ method: 'POST', pathIncludes: '/v2/video/generations' });

/** A video upload: a message post with a file, which the bot sends with a nonce it enforces. */
const isUpload = (req: { method: string; route?: string; body: unknown }) =>
  req.method === 'POST' && req.route === '/channels/:channelId/messages' && (req.body as { enforce_nonce?: unknown } | undefined)?.enforce_nonce === true;
const uploadCalls = (l: Lifecycle): RecordedCall[] =>
  l.discord.calls.filter((c) => c.method === 'POST' && /^\/channels\/\d+\/messages$/.test(c.path) && (c.body as { payload_json?: { enforce_nonce?: unknown } } | undefined)?.payload_json?.enforce_nonce === true);

/** Holds the first video upload (60 s, or until `endDelays()`); `held` is set once the stand-in has it. */
function holdFirstUpload(l: Lifecycle, delayMs = 60_000): { held: () => ChaosRequest | undefined } {
  let held: ChaosRequest | undefined;
  l.discord.setChaos((req) => {
    if (held || !isUpload(req)) return undefined;
    held = req;
    return { delayMs };
  });
  return { held: () => held };
}
const heldCallAnswered = (l: Lifecycle) => l.discord.calls.some((c) => c.fault?.source === 'chaos' && c.fault.delayMs !== undefined);

describe('start-up', () => {
  it('starts with Slack failing to connect: Discord works meanwhile, /readyz names Slack, then Slack connects', async () => {
    const l = await lifecycle({ slack: true });
    await inWorld(l, async () => {
      const slack = l.slack!;
      let authFailures = 0;
      // auth.test fails (500, then a reset, alternately) until the Discord video is delivered.
      slack.setChaos((req) => (req.method === 'auth.test' ? (++authFailures % 2 ? { status: 500 } : { reset: true }) : undefined));

      // Before the bot says it is running, /readyz already answers, not ready.
      const early = (async () => {
        for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
          const r = await l.health('/readyz').catch(() => undefined);
          if (r) return { ...r, running: logged(l, 'seedance-bot is running').length > 0 };
          await new Promise((res) => setTimeout(res, 20));
        }
        return undefined;
      })();
      const mark = await l.start();
      const first = await early;
      expect(first).toMatchObject({ status: 503, body: { ready: false, reason: expect.any(String) }, running: false });

      expect(runningLine(l, mark).platforms).toEqual({ discord: 'connected', slack: 'retrying' });
      expect(logged(l, 'could not connect to Slack; the rest of the bot keeps running, trying again', mark).length).toBeGreaterThanOrEqual(1);
      expect(await l.health('/readyz')).toEqual({ status: 503, body: { ready: false, reason: 'not connected to Slack' } });
      expect((await l.health('/healthz')).status).toBe(200);

      const progress = await progressOf(l, video(l, 'a fox while slack is down').id);
      await l.discord.waitFor(() => videosFor(l, progress).length > 0, 20_000);
      // Retried at least once, still not connected, and still not ready because of Slack alone.
      await slack.waitFor(() => logged(l, 'could not connect to Slack', mark).length >= 2, 10_000);
      expect(logged(l, 'connected to Slack', mark)).toEqual([]);
      expect(await l.health('/readyz')).toEqual({ status: 503, body: { ready: false, reason: 'not connected to Slack' } });

      slack.setChaos(undefined);
      const connected = await slack.waitFor(() => logged(l, 'connected to Slack after', mark).at(-1), 20_000);
      const failedAttempts = logged(l, 'could not connect to Slack', mark).length;
      expect(connected.msg).toBe(`connected to Slack after ${failedAttempts + 1} attempts`);
      expect(authFailures).toBeGreaterThanOrEqual(failedAttempts);
      expect(await l.health('/readyz')).toEqual({ status: 200, body: { ready: true } });

      // Slack now serves requests too.
      const port = loggedExactly(l, 'connected to Slack', mark).at(-1)?.port;
      expect(port).toBeTypeOf('number');
      const send = createSlackSender({ url: `http://127.0.0.1:${String(port)}`, signingSecret: SLACK_SECRET, teamId: slack.teamId, botUserId: slack.botUserId, responseUrlBase: slack.url });
      expect((await send.command({ command: '/video', text: 'a fox once slack is up', userId: 'U0ALICE', channelId: 'C0GENERAL' })).status).toBe(200);
      const top = await slack.waitFor(() => slack.messages.find((m) => !m.threadTs && m.history[0]!.text.includes('a fox once slack is up')), 20_000);
      await slack.waitFor(() => slack.messages.find((m) => m.threadTs === top.ts && m.files.some((f) => f.name.endsWith('.mp4'))), 20_000);
      expect(creates(l)).toBe(2);
    });
  }, 60_000);

  it('retries Discord when READY does not come within PLATFORM_CONNECT_TIMEOUT_S, then connects and serves /video', async () => {
    const l = await lifecycle({ env: { PLATFORM_CONNECT_TIMEOUT_S: '2' } });
    await inWorld(l, async () => {
      l.discord.withholdReady(1);
      const mark = l.bot.output().length;
      const started = l.start();
      started.catch(() => undefined);
      // The first attempt ends, failed, once PLATFORM_CONNECT_TIMEOUT_S is over.
      await l.discord.waitFor(() => logged(l, 'could not connect to Discord', mark).length > 0, 10_000);
      await started;
      expect(runningLine(l, mark).platforms).toEqual({ discord: 'retrying' });
      const failure = logged(l, 'could not connect to Discord; the rest of the bot keeps running, trying again', mark);
      expect(failure).toHaveLength(1);
      expect(JSON.stringify(failure[0])).toContain('Discord did not become ready within 2 s');
      expect(l.discord.readyWithheld).toBe(1);
      expect(await l.health('/readyz')).toEqual({ status: 503, body: { ready: false, reason: 'not connected to Discord' } });

      await l.discord.waitFor(() => logged(l, 'connected to Discord after', mark).length > 0, 15_000);
      expect(logged(l, 'connected to Discord', mark).map((e) => e.msg)).toEqual(['connected to Discord', 'connected to Discord after 2 attempts']);
      expect(l.discord.readyCount).toBe(1);
      expect(await l.health('/readyz')).toEqual({ status: 200, body: { ready: true } });
      const progress = await progressOf(l, video(l, 'a fox after a slow ready').id);
      await l.discord.waitFor(() => videosFor(l, progress).length > 0, 20_000);
    });
  }, 60_000);

  it('retries Discord when the first login fails (GET /gateway/bot 500), then /readyz turns 200', async () => {
    const l = await lifecycle();
    await inWorld(l, async () => {
      // @discordjs/rest tries a 500 four times (retries: 3), so the whole first login fails.
      l.discord.addFault({ method: 'GET', pathIncludes: '/gateway/bot', status: 500, times: 4 });
      const mark = await l.start();
      expect(runningLine(l, mark).platforms).toEqual({ discord: 'retrying' });
      expect(logged(l, 'could not connect to Discord', mark)).toHaveLength(1);
      await l.discord.waitFor(() => logged(l, 'connected to Discord after 2 attempts', mark).length > 0, 15_000);
      expect(l.discord.gatewayConnected).toBe(true);
      expect(await l.health('/readyz')).toEqual({ status: 200, body: { ready: true } });
    });
  }, 60_000);

  it('resumes and delivers a job over REST while READY is withheld after a restart', async () => {
    const l = await lifecycle({ env: { PLATFORM_CONNECT_TIMEOUT_S: '2' } });
    await inWorld(l, async () => {
      await l.start();
      const progress = await progressOf(l, video(l, 'a long render across a restart').id);
      await l.discord.waitFor(() => [...l.emulator.jobs.values()].some((j) => j.statusPolls > 0), 10_000);
      await l.bot.stop('SIGKILL');
      expect(videosFor(l, progress)).toEqual([]);

      l.discord.withholdReady(Infinity);
      const mark = l.bot.output().length;
      // Not awaited yet: the core's work below must not depend on how the first Discord attempt ends.
      const started = l.start();
      started.catch(() => undefined);
      const [delivered] = await l.discord.waitFor(() => (videosFor(l, progress).length ? videosFor(l, progress) : undefined), 20_000);
      // Delivered with no gateway session: every IDENTIFY of the new process went unanswered.
      expect(delivered).toBeDefined();
      expect(logged(l, 'resuming job', mark)).toHaveLength(1);
      expect(l.discord.readyCount).toBe(1);
      expect(l.discord.gatewayConnected).toBe(false);
      expect(l.discord.readyWithheld).toBeGreaterThanOrEqual(1);
      expect(logged(l, 'connected to Discord', mark)).toEqual([]);
      await l.discord.waitFor(() => l.discord.messages.get(progress)!.content.includes('✅ Done'), 10_000);
      expect(await l.health('/readyz')).toEqual({ status: 503, body: { ready: false, reason: 'not connected to Discord' } });

      await l.discord.waitFor(() => logged(l, 'could not connect to Discord', mark).length > 0, 10_000);
      await started;
      expect(runningLine(l, mark)).toMatchObject({ platforms: { discord: 'retrying' }, resumed: 1 });
      l.discord.withholdReady(0);
      await l.discord.waitFor(() => logged(l, 'connected to Discord after', mark).at(-1), 30_000);
      expect(await l.health('/readyz')).toEqual({ status: 200, body: { ready: true } });
      const next = await progressOf(l, video(l, 'a fox once ready').id);
      await l.discord.waitFor(() => videosFor(l, next).length > 0, 20_000);
      expect(videosFor(l, progress)).toHaveLength(1);
      expect(creates(l)).toBe(2);
    });
  }, 60_000);
});

describe('shutdown', () => {
  it('with a short grace exits 0 before a slow upload is answered; after a restart the video is posted once', async () => {
    const l = await lifecycle({ env: { SHUTDOWN_GRACE_S: '1' } });
    await inWorld(l, async () => {
      await l.start();
      const upload = holdFirstUpload(l);
      const progress = await progressOf(l, video(l, 'a fox cut short').id);
      await l.discord.waitFor(() => upload.held(), 20_000);

      const exited = l.bot.exited();
      expect(l.bot.signal('SIGTERM')).toBe(true);
      const exit = await exited;
      // Snapshot at the exit: the held upload had not been answered, no video was posted.
      const answeredAtExit = heldCallAnswered(l);
      const videosAtExit = videosFor(l, progress).length;
      expect(exit).toMatchObject({ code: 0, signal: null });
      expect(answeredAtExit).toBe(false);
      expect(videosAtExit).toBe(0);
      await l.discord.waitFor(() => loggedExactly(l, 'stopped').length === 1, 2000);

      const mark = await l.start();
      expect(runningLine(l, mark).resumed).toBe(1);
      await l.discord.waitFor(() => videosFor(l, progress).length > 0, 20_000);
      // Now the first process's upload reaches the stand-in after all (same nonce: no second message).
      l.discord.endDelays();
      await l.discord.waitFor(() => heldCallAnswered(l), 5000);
      await l.discord.waitFor(() => l.discord.messages.get(progress)!.content.includes('✅ Done'), 10_000);
      expect(videosFor(l, progress)).toHaveLength(1);
      const nonces = uploadCalls(l).map((c) => (c.body as { payload_json: { nonce: string } }).payload_json.nonce);
      expect(nonces).toHaveLength(2);
      expect(new Set(nonces).size).toBe(1);
      expect(creates(l)).toBe(1);
    });
  }, 60_000);

  it('with a long grace waits for the upload, turning requests away meanwhile, then exits 0; no second copy after a restart', async () => {
    const l = await lifecycle({ env: { SHUTDOWN_GRACE_S: '30' } });
    await inWorld(l, async () => {
      await l.start();
      const upload = holdFirstUpload(l);
      const progress = await progressOf(l, video(l, 'a fox worth waiting for').id);
      await l.discord.waitFor(() => upload.held(), 20_000);

      let gone = false;
      const exited = l.bot.exited().then((exit) => {
        gone = true;
        return { ...exit, answered: heldCallAnswered(l), videos: videosFor(l, progress).length };
      });
      expect(l.bot.signal('SIGTERM')).toBe(true);
      await l.discord.waitFor(() => logged(l, 'shutting down: finishing submits and uploads under way').length === 1, 5000);

      // While the upload is held: not ready, alive, and new requests are turned away.
      expect(await l.health('/readyz')).toEqual({ status: 503, body: { ready: false, reason: 'shutting down' } });
      expect((await l.health('/healthz')).status).toBe(200);
      const turnedAway = video(l, 'a fox during the shutdown');
      const reply = await l.discord.waitFor(() => l.discord.interactionResponses.get(turnedAway.id));
      expect(reply.type).toBe(4);
      expect(reply.data).toMatchObject({ flags: EPHEMERAL });
      expect((reply.data as { content: string }).content).toContain(RESTARTING);
      // The bot is still waiting for the upload.
      expect([heldCallAnswered(l), gone]).toEqual([false, false]);

      l.discord.endDelays();
      const exit = await exited;
      // At the exit, the upload had been answered and the video posted.
      expect(exit).toMatchObject({ code: 0, signal: null, answered: true, videos: 1 });
      await l.discord.waitFor(() => loggedExactly(l, 'stopped').length === 1, 2000);
      expect(creates(l)).toBe(1);

      const mark = await l.start();
      expect(runningLine(l, mark).resumed).toBe(0);
      // Something the restarted bot does end to end, by which time a second copy would have been posted.
      const next = await progressOf(l, video(l, 'a fox after the restart').id);
      await l.discord.waitFor(() => videosFor(l, next).length > 0, 20_000);
      expect(videosFor(l, progress)).toHaveLength(1);
      expect(uploadCalls(l)).toHaveLength(2);
      expect(creates(l)).toBe(2);
    });
  }, 60_000);

  it('exits at once (code 1) on a second SIGTERM during the grace; after a restart the video is posted once', async () => {
    const l = await lifecycle({ env: { SHUTDOWN_GRACE_S: '30' } });
    await inWorld(l, async () => {
      await l.start();
      const upload = holdFirstUpload(l);
      const progress = await progressOf(l, video(l, 'a fox in a hurry').id);
      await l.discord.waitFor(() => upload.held(), 20_000);

      const exited = l.bot.exited().then((exit) => ({ ...exit, answered: heldCallAnswered(l), videos: videosFor(l, progress).length }));
      expect(l.bot.signal('SIGTERM')).toBe(true);
      await l.discord.waitFor(() => logged(l, 'shutting down: finishing submits and uploads under way').length === 1, 5000);
      expect(l.bot.signal('SIGTERM')).toBe(true);
      const exit = await exited;
      expect(exit).toMatchObject({ code: 1, signal: null, answered: false, videos: 0 });
      await l.discord.waitFor(() => l.bot.output().includes('SIGTERM again: exiting now'), 2000);
      expect(loggedExactly(l, 'stopped')).toEqual([]);

      // The upload the process left behind reaches the stand-in after it is gone, then the bot restarts.
      l.discord.endDelays();
      await l.discord.waitFor(() => heldCallAnswered(l), 5000);
      expect(videosFor(l, progress)).toHaveLength(1);
      const mark = await l.start();
      expect(runningLine(l, mark).resumed).toBe(1);
      await l.discord.waitFor(() => uploadCalls(l).length === 2, 20_000);
      await l.discord.waitFor(() => l.discord.messages.get(progress)!.content.includes('✅ Done'), 10_000);
      expect(videosFor(l, progress)).toHaveLength(1);
      expect(uploadCalls(l).map((c) => c.status)).toEqual([200, 200]);
      expect(creates(l)).toBe(1);
    });
  }, 60_000);
});
