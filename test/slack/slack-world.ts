/**
 * An end-to-end world for Slack tests: the provider emulator and the Slack
 * stand-in in this process, the real bot (`src/index.ts`) as a child process in
 * HTTP mode, and a sender that signs requests to its receiver.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_AIMLAPI_KEY, startProviderEmulator } from '../emulator/provider-emulator.js';
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
  output(): string;
  startBot(extraEnv?: Record<string, string>): Promise<void>;
  stopBot(signal?: NodeJS.Signals): Promise<void>;
  close(): Promise<void>;
}

export async function createSlackWorld(opts: { renderMs?: number } = {}): Promise<SlackWorld> {
  const emulator = await startProviderEmulator({ renderMs: () => opts.renderMs ?? 400 });
  const slack = await startSlackStandin();
  const dataDir = mkdtempSync(join(tmpdir(), 'seedance-slack-'));
  let child: ChildProcess | undefined;
  let out = '';
  let send: SlackSender | undefined;

  const world: SlackWorld = {
    emulator,
    slack,
    get send() {
      if (!send) throw new Error('start the bot first');
      return send;
    },
    output: () => out,
    async startBot(extraEnv = {}) {
      const marks = out.split('seedance-bot is running').length;
      child = spawn(process.execPath, ['--import', 'tsx', 'src/index.ts'], {
        cwd: join(import.meta.dirname, '../..'),
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          SLACK_BOT_TOKEN: slack.botToken,
          SLACK_SIGNING_SECRET: SECRET,
          SLACK_API_URL: `${slack.url}/api/`,
          SLACK_FILE_HOSTS: '127.0.0.1',
          SLACK_PROGRESS_INTERVAL_MS: '200',
          PORT: '0',
          AIMLAPI_BASE_URL: emulator.aimlapiUrl,
          AIMLAPI_KEY: DEFAULT_AIMLAPI_KEY,
          DATA_DIR: dataDir,
          HEALTH_PORT: '0',
          HEALTH_HOST: '127.0.0.1',
          POLL_MIN_INTERVAL_MS: '100',
          POLL_MAX_INTERVAL_MS: '1000',
          LOG_LEVEL: 'info',
          ...extraEnv,
        },
      });
      child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
      await slack.waitFor(() => out.split('seedance-bot is running').length > marks || (child?.exitCode ?? null) !== null, 30_000);
      if (child.exitCode !== null) throw new Error(`the bot exited early:\n${out}`);
      const port = [...out.matchAll(/"port":(\d+)[^\n]*connected to Slack/g)].at(-1)?.[1];
      if (!port) throw new Error(`no Slack port in the log:\n${out}`);
      send = createSlackSender({ url: `http://127.0.0.1:${port}`, signingSecret: SECRET, teamId: slack.teamId, botUserId: slack.botUserId, responseUrlBase: slack.url });
    },
    async stopBot(signal = 'SIGTERM') {
      if (!child || child.exitCode !== null) return;
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill(signal);
      await exited;
    },
    async close() {
      await world.stopBot('SIGKILL');
      await slack.close();
      await emulator.close();
      rmSync(dataDir, { recursive: true, force: true });
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
