/**
 * An end-to-end world for Slack tests: the provider emulator and the Slack
 * stand-in in this process, the real bot (`src/index.ts`) as a child process in
 * HTTP mode, and a sender that signs requests to its receiver.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_AIMLAPI_KEY, startProviderEmulator } from '../emulator/provider-emulator.js';
import { logProblems } from '../helpers/log-scan.js';
import { baseBotEnv, botProcess } from '../helpers/bot-process.js';
import type { ProviderEmulator } from '../emulator/provider-emulator.js';
import { createSlackSender } from './standin/slack-signer.js';
import type { SlackSender } from './standin/slack-signer.js';
import { startSlackStandin } from './standin/slack-standin.js';
import type { SlackMessage, SlackStandin } from './standin/slack-standin.js';

export const SECRET = 'e2e-signing-secret';
export const PNG = readFileSync(new URL('../fixtures/red-320.png', import.meta.url));

export interface SlackWorld {
  emulator: ProviderEmulator;
  slack: SlackStandin;
  send: SlackSender;
  dataDir: string;
  output(): string;
  startBot(extraEnv?: Record<string, string>): Promise<void>;
  stopBot(signal?: NodeJS.Signals): Promise<void>;
  close(): Promise<void>;
}

export async function createSlackWorld(opts: { renderMs?: number; videoBytes?: Buffer } = {}): Promise<SlackWorld> {
  // Prompts that say "slow" render for a minute and "crash" for a few seconds, so tests can act on a running job without racing it.
  const renderMs = (prompt: string) => (/\bslow\b/.test(prompt) ? 60_000 : /\bcrash\b/.test(prompt) ? 3000 : (opts.renderMs ?? 400));
  const emulator = await startProviderEmulator({ renderMs: ({ body }) => renderMs(String(body.prompt)), ...(opts.videoBytes ? { videoBytes: opts.videoBytes } : {}) });
  const slack = await startSlackStandin();
  const dataDir = mkdtempSync(join(tmpdir(), 'seedance-slack-'));
  const bot = botProcess();
  let send: SlackSender | undefined;

  const world: SlackWorld = {
    emulator,
    slack,
    dataDir,
    get send() {
      if (!send) throw new Error('start the bot first');
      return send;
    },
    output: bot.output,
    async startBot(extraEnv = {}) {
      await bot.start({
        ...baseBotEnv(emulator, dataDir),
        SLACK_BOT_TOKEN: slack.botToken,
        SLACK_SIGNING_SECRET: SECRET,
        SLACK_API_URL: `${slack.url}/api/`,
        SLACK_FILE_HOSTS: '127.0.0.1',
        SLACK_PROGRESS_INTERVAL_MS: '200',
        PORT: '0',
        ...extraEnv,
      });
      const port = [...bot.output().matchAll(/"port":(\d+)[^\n]*connected to Slack/g)].at(-1)?.[1];
      if (!port) throw new Error(`no Slack port in the log:\n${bot.output()}`);
      send = createSlackSender({ url: `http://127.0.0.1:${port}`, signingSecret: SECRET, teamId: slack.teamId, botUserId: slack.botUserId, responseUrlBase: slack.url });
    },
    stopBot: bot.stop,
    async close() {
      await bot.stop('SIGKILL');
      await slack.close();
      await emulator.close();
      rmSync(dataDir, { recursive: true, force: true });
      // Every Slack end-to-end suite also checks that its bot never logged a secret or an oversized line.
      const problem = logProblems(bot.output(), { 'Slack bot token': slack.botToken, 'Slack signing secret': SECRET, 'AIML API key': DEFAULT_AIMLAPI_KEY });
      if (problem) throw new Error(problem);
    },
  };
  return world;
}

export const creates = (w: SlackWorld) => w.emulator.count({ method: 'POST', pathIncludes: '/v2/video/generations' });
export const lastCreate = (w: SlackWorld) => w.emulator.requests.filter((r) => r.method === 'POST').at(-1)?.body as Record<string, unknown>;

/** Bot messages (not ephemeral) in a channel, optionally in one thread. */
export function botPosts(w: SlackWorld, channel: string, thread?: string): SlackMessage[] {
  return w.slack.messages.filter((m) => m.channel === channel && m.user === w.slack.botUserId && !m.ephemeralTo && (thread === undefined || m.threadTs === thread));
}

/** The message carrying the uploaded video in a thread, once it exists. */
export function videoIn(w: SlackWorld, channel: string, thread: string): SlackMessage | undefined {
  return w.slack.messages.find((m) => m.channel === channel && m.threadTs === thread && m.files.some((f) => f.name.endsWith('.mp4')));
}

export function ephemeralFor(w: SlackWorld, user: string): SlackMessage[] {
  return w.slack.messages.filter((m) => m.ephemeralTo === user);
}
