/**
 * The soak test's world: the provider emulator, the Discord stand-in and the
 * Slack stand-in in this process, and ONE real bot process (`src/index.ts`)
 * with both platforms configured, sharing one DATA_DIR and store. The bot can be
 * killed and restarted; the Slack sender follows the bot's new HTTP port.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProviderEmulator } from '../emulator/provider-emulator.js';
import type { ProviderEmulator } from '../emulator/provider-emulator.js';
import { startDiscordStandin } from '../discord/standin/discord-standin.js';
import type { DiscordStandin } from '../discord/standin/discord-standin.js';
import { baseBotEnv, botProcess } from '../helpers/bot-process.js';
import { createSlackSender } from '../slack/standin/slack-signer.js';
import type { SlackSender } from '../slack/standin/slack-signer.js';
import { startSlackStandin } from '../slack/standin/slack-standin.js';
import type { SlackStandin } from '../slack/standin/slack-standin.js';

export const SLACK_SECRET = 'soak-signing-secret';

export interface SoakWorld {
  emulator: ProviderEmulator;
  discord: DiscordStandin;
  slack: SlackStandin;
  dataDir: string;
  /** True between a completed start and the next kill/stop. */
  readonly up: boolean;
  /** The sender for the running bot's Slack receiver (its port changes at every start). */
  readonly send: SlackSender;
  output(): string;
  startBot(): Promise<void>;
  stopBot(signal?: NodeJS.Signals): Promise<void>;
  close(): Promise<void>;
}

export async function createSoakWorld(opts: { renderMs(prompt: string): number; env: Record<string, string> }): Promise<SoakWorld> {
  const emulator = await startProviderEmulator({ renderMs: ({ body }) => opts.renderMs(String(body.prompt)) });
  const discord = await startDiscordStandin();
  const slack = await startSlackStandin();
  const dataDir = mkdtempSync(join(tmpdir(), 'seedance-soak-'));
  const bot = botProcess();
  let send: SlackSender | undefined;
  let up = false;

  const env = {
    ...baseBotEnv(emulator, dataDir),
    DISCORD_TOKEN: discord.token,
    DISCORD_APPLICATION_ID: discord.applicationId,
    DISCORD_API_URL: `${discord.url}/api`,
    SLACK_BOT_TOKEN: slack.botToken,
    SLACK_SIGNING_SECRET: SLACK_SECRET,
    SLACK_API_URL: `${slack.url}/api/`,
    SLACK_FILE_HOSTS: '127.0.0.1',
    PORT: '0',
    ...opts.env,
  };

  return {
    emulator,
    discord,
    slack,
    dataDir,
    get up() {
      return up;
    },
    get send() {
      if (!send) throw new Error('start the bot first');
      return send;
    },
    output: bot.output,
    async startBot() {
      await bot.start(env);
      const port = [...bot.output().matchAll(/"port":(\d+)[^\n]*connected to Slack/g)].at(-1)?.[1];
      if (!port) throw new Error(`no Slack port in the log:\n${bot.output()}`);
      send = createSlackSender({ url: `http://127.0.0.1:${port}`, signingSecret: SLACK_SECRET, teamId: slack.teamId, botUserId: slack.botUserId, responseUrlBase: slack.url });
      up = true;
    },
    async stopBot(signal = 'SIGTERM') {
      up = false;
      await bot.stop(signal);
    },
    async close() {
      up = false;
      await bot.stop('SIGKILL');
      await discord.close();
      await slack.close();
      await emulator.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

// ---------- seeded randomness ----------

/** 32-bit hash of a string (FNV-1a with a final mix). */
function hash32(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** mulberry32: a small seeded PRNG giving floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A PRNG for one named decision: the same seed and key always give the same numbers, whatever order
 * requests arrive in. Fault decisions use `<service>:<request identity>:<occurrence>` as the key.
 */
export const rngFor = (seed: number, key: string) => mulberry32(hash32(`${seed}:${key}`));
