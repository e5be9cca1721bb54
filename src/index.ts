/**
 * `npm start`: the bot process. Loads config, resumes every unfinished job, and
 * starts each chat platform that has credentials. Stops cleanly on SIGTERM/SIGINT
 * (jobs stay in the store and continue on the next start).
 */
import type { AddressInfo } from 'node:net';
import { createApp } from './app.js';
import { loadConfig, requireProvider, secretValues } from './config.js';
import { ConfigError } from './core/errors.js';
import type { ChatSurface } from './core/ports.js';
import { loadDotEnv } from './env-file.js';
import { startHealthServer } from './health.js';
import { createLogger } from './logging.js';
import { createDiscordBot } from './surfaces/discord/discord-bot.js';
import { createSlackBot } from './surfaces/slack/slack-app.js';

async function main(): Promise<void> {
  loadDotEnv();
  const config = loadConfig(process.env);
  requireProvider(config);
  const logger = createLogger(config.LOG_LEVEL, 1, secretValues(config));
  const discord = config.DISCORD_TOKEN ? createDiscordBot(config, logger) : undefined;
  const slack = config.SLACK_BOT_TOKEN ? createSlackBot(config, logger) : undefined;
  const app = await createApp(config, {
    logger,
    surfaces: (kv) => [...(discord ? [discord.surface(kv)] : []), ...(slack ? [slack.surface(kv)] : [])] as ChatSurface[],
  });
  const health = await startHealthServer(config.HEALTH_PORT, config.HEALTH_HOST, () => ({
    activeJobs: app.service.activeCount(),
    discord: discord ? discord.client.isReady() : undefined,
  }));
  await discord?.start({ service: app.service, catalogue: app.catalogue, kv: app.kv });
  await slack?.start({ service: app.service, catalogue: app.catalogue, kv: app.kv, dispatcher: app.dispatcher, imageDownloads: app.imageDownloads });
  const resumed = await app.service.start();
  const platforms = [...(discord ? ['discord'] : []), ...(slack ? ['slack'] : [])];
  logger.info(
    { models: app.catalogue.models.map((m) => m.id), platforms, resumed, health: (health.address() as AddressInfo).port },
    platforms.length ? 'seedance-bot is running' : 'seedance-bot is running without a chat platform (set DISCORD_TOKEN and/or SLACK_BOT_TOKEN)',
  );

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down; unfinished jobs continue on the next start');
    health.close();
    await app.close();
    await discord?.stop();
    await slack?.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`);
  else process.stderr.write(`fatal: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
