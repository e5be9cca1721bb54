/**
 * `npm start`: the bot process. Loads config, resumes every unfinished job, and
 * starts each chat platform that has credentials. Stops cleanly on SIGTERM/SIGINT
 * (jobs stay in the store and continue on the next start).
 */
import type { AddressInfo } from 'node:net';
import { createApp } from './app.js';
import { loadConfig, requireProvider } from './config.js';
import { ConfigError } from './core/errors.js';
import type { ChatSurface } from './core/ports.js';
import { loadDotEnv } from './env-file.js';
import { startHealthServer } from './health.js';
import { createLogger } from './logging.js';

async function main(): Promise<void> {
  loadDotEnv();
  const config = loadConfig(process.env);
  requireProvider(config);
  const logger = createLogger(config.LOG_LEVEL);
  const surfaces: ChatSurface[] = [];
  const app = await createApp(config, { logger, surfaces });
  const health = await startHealthServer(config.HEALTH_PORT, config.HEALTH_HOST, () => ({ activeJobs: app.service.activeCount() }));
  const resumed = await app.service.start();
  logger.info(
    { models: app.catalogue.models.map((m) => m.id), resumed, health: (health.address() as AddressInfo).port },
    surfaces.length ? 'seedance-bot is running' : 'seedance-bot is running without a chat platform (no platform credentials set)',
  );

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down; unfinished jobs continue on the next start');
    health.close();
    await app.close();
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
