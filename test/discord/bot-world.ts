/**
 * An end-to-end world for Discord tests: the provider emulator and the Discord
 * stand-in in this process, and the real bot (`src/index.ts`) as a child process
 * talking to both over loopback.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_AIMLAPI_KEY, startProviderEmulator } from '../emulator/provider-emulator.js';
import { logProblems } from '../helpers/log-scan.js';
import { baseBotEnv, botProcess } from '../helpers/bot-process.js';
import type { ProviderEmulator } from '../emulator/provider-emulator.js';
import type { BotProcess } from '../helpers/bot-process.js';
import { startDiscordStandin, STANDIN_IDS } from './standin/discord-standin.js';
import type { DiscordStandin, GuildSeed, StandinMessage, StandinOptions } from './standin/discord-standin.js';

export const IDS = STANDIN_IDS;
export const STRING = 3;
export const INTEGER = 4;
export const BOOLEAN = 5;
export const ATTACHMENT = 11;
export const MANAGE_MESSAGES = String(1n << 13n);

export interface World {
  emulator: ProviderEmulator;
  discord: DiscordStandin;
  dataDir: string;
  /** Everything the bot printed (for failure messages). */
  output(): string;
  startBot(extraEnv?: Record<string, string>): Promise<void>;
  stopBot(signal?: NodeJS.Signals): Promise<void>;
  /** One more bot process (another instance) on the same stand-ins and data directory; close() ends and checks it too. */
  anotherBot(): WorldBot;
  close(): Promise<void>;
}

/** A bot process started with the world's environment plus `extraEnv`. */
export type WorldBot = Omit<BotProcess, 'start'> & { start(extraEnv?: Record<string, string>): Promise<void> };

/** A third text channel, for tests that need one more. */
export const ART_CHANNEL = '810000000000000003';

export interface WorldOptions {
  renderMs?: number;
  env?: Record<string, string>;
  /** Servers besides the test guild (e.g. one that never added the bot). */
  extraGuilds?: GuildSeed[];
  /** More stand-in options (not `guilds`). */
  standin?: Omit<StandinOptions, 'guilds'>;
  /** The video the emulator serves for every job (default test/fixtures/tiny.mp4). */
  videoBytes?: Buffer;
}

export async function createWorld(opts: WorldOptions = {}): Promise<World> {
  // Prompts that say "slow" render for a minute and "crash" for a few seconds, so tests can act on a running job without racing it.
  const renderMs = (prompt: string) => (/\bslow\b/.test(prompt) ? 60_000 : /\bcrash\b/.test(prompt) ? 3000 : (opts.renderMs ?? 400));
  const emulator = await startProviderEmulator({ renderMs: ({ body }) => renderMs(String(body.prompt)), ...(opts.videoBytes ? { videoBytes: opts.videoBytes } : {}) });
  const discord = await startDiscordStandin({
    ...opts.standin,
    guilds: [
      {
        id: STANDIN_IDS.guild,
        name: 'Test Guild',
        channels: [
          { id: STANDIN_IDS.general, name: 'general' },
          { id: STANDIN_IDS.second, name: 'second' },
          { id: ART_CHANNEL, name: 'art' },
        ],
      },
      ...(opts.extraGuilds ?? []),
    ],
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'seedance-discord-'));
  const bot = botProcess();
  const others: BotProcess[] = [];
  const env = (extra: Record<string, string>) => ({
    ...baseBotEnv(emulator, dataDir),
    DISCORD_TOKEN: discord.token,
    DISCORD_APPLICATION_ID: discord.applicationId,
    DISCORD_API_URL: `${discord.url}/api`,
    DISCORD_PROGRESS_INTERVAL_MS: '200',
    ...opts.env,
    ...extra,
  });

  const world: World = {
    emulator,
    discord,
    dataDir,
    output: bot.output,
    startBot: (extraEnv = {}) => bot.start(env(extraEnv)),
    stopBot: bot.stop,
    anotherBot() {
      const other = botProcess();
      others.push(other);
      return { ...other, start: (extraEnv = {}) => other.start(env(extraEnv)) };
    },
    async close() {
      await Promise.all([bot, ...others].map((b) => b.stop('SIGKILL')));
      await discord.close();
      await emulator.close();
      rmSync(dataDir, { recursive: true, force: true });
      // Every Discord end-to-end suite also checks that its bot never logged a secret or an oversized line.
      for (const b of [bot, ...others]) {
        const problem = logProblems(b.output(), { 'Discord bot token': discord.token, 'AIML API key': DEFAULT_AIMLAPI_KEY });
        if (problem) throw new Error(problem);
      }
    },
  };
  return world;
}

export function image(name = 'cat.png', over: Partial<{ width: number; height: number; size: number; contentType: string; url: string }> = {}) {
  return { filename: name, contentType: 'image/png', size: 120_000, width: 1024, height: 768, ...over };
}

/** Bot messages in a channel, oldest first. */
export function botMessages(w: World, channelId: string = IDS.general): StandinMessage[] {
  return [...w.discord.messages.values()].filter((m) => m.channelId === channelId && m.authorId === w.discord.botUserId);
}

/** The video message (a bot message with an .mp4) replying to `progressId`, once it exists. */
export function videoFor(w: World, progressId: string): StandinMessage | undefined {
  return [...w.discord.messages.values()].find((m) => m.messageReference?.message_id === progressId && m.attachments.some((a) => a.filename.endsWith('.mp4')));
}

export const creates = (w: World) => w.emulator.count({ method: 'POST', pathIncludes: '/v2/video/generations' });
