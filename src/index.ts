/**
 * `npm start`: the bot process.
 *
 * Start-up, in order: the health endpoint (/healthz live at once, /readyz 503
 * until ready and while the store can't be reached, /metrics for Prometheus);
 * the store; the core (unfinished jobs resumed, leases renewed); then each chat
 * platform on its own, retried with backoff if it fails to connect, while the
 * core and the other platforms keep running.
 *
 * Shutdown (SIGTERM/SIGINT): /readyz turns 503 and new requests are turned away;
 * submits and uploads under way get up to SHUTDOWN_GRACE_S to finish; job state
 * is persisted; the platforms disconnect; the store closes. A second signal exits
 * at once. Either way every unfinished job continues at the next start.
 */
import type { AddressInfo } from 'node:net';
import { createApp } from './app.js';
import type { App } from './app.js';
import { loadConfig, requireProvider, secretValues } from './config.js';
import { ConfigError } from './core/errors.js';
import type { ChatSurface } from './core/ports.js';
import { loadDotEnv } from './env-file.js';
import { startHealthServer } from './health.js';
import { createLogger } from './logging.js';
import { createMetrics } from './metrics.js';
import type { KeptConnection, PlatformConnection } from './platform-connection.js';
import { keepConnected } from './platform-connection.js';
import { createDiscordBot } from './surfaces/discord/discord-bot.js';
import { createSlackBot } from './surfaces/slack/slack-app.js';

async function main(): Promise<void> {
  loadDotEnv();
  const config = loadConfig(process.env);
  requireProvider(config);
  const logger = createLogger(config.LOG_LEVEL, 1, secretValues(config), { pretty: config.LOG_PRETTY });
  const discord = config.DISCORD_TOKEN ? createDiscordBot(config, logger) : undefined;
  const slack = config.SLACK_BOT_TOKEN ? createSlackBot(config, logger) : undefined;
  const platforms: PlatformConnection[] = [...(discord ? [discord.connection] : []), ...(slack ? [slack.connection] : [])];

  let phase: 'opening the store' | 'starting the core' | 'running' | 'shutting down' = 'opening the store';
  // Set once the store is open; the health endpoint and shutdown may run before that.
  const started: { app?: App } = {};
  // Served on the health port from the start; the job gauges read the service once there is one.
  const metrics = createMetrics();
  const health = await startHealthServer(
    config.HEALTH_PORT,
    config.HEALTH_HOST,
    () => ({ phase, activeJobs: started.app?.service.activeCount() ?? 0, platforms: Object.fromEntries(platforms.map((p) => [p.name.toLowerCase(), p.connected()])) }),
    () => {
      if (phase !== 'running') return { ready: false, reason: phase };
      // Liveness (/healthz) stays 200 meanwhile: a restart would not bring the store back.
      const store = started.app?.storeHealth();
      if (store && !store.up) return { ready: false, reason: `store unreachable: ${store.reason ?? 'no answer'}` };
      const down = platforms.filter((p) => !p.connected()).map((p) => p.name);
      return down.length ? { ready: false, reason: `not connected to ${down.join(' and ')}` } : { ready: true };
    },
    metrics.registry,
  );

  let closing = false;
  let kept: KeptConnection[] = [];
  const shutdown = async (signal: string) => {
    phase = 'shutting down';
    closing = true;
    logger.info({ signal, graceS: config.SHUTDOWN_GRACE_S }, 'shutting down: finishing submits and uploads under way; unfinished jobs continue on the next start');
    await started.app?.service.stop({ graceMs: config.SHUTDOWN_GRACE_S * 1000 });
    await Promise.all(kept.map((k) => k.stop()));
    await started.app?.close();
    health.close();
    logger.info({}, 'stopped');
    await new Promise<void>((r) => logger.flush(() => r()));
    process.exit(0);
  };
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals > 1) {
      process.stderr.write(`${signal} again: exiting now; unfinished jobs continue on the next start\n`);
      process.exit(1);
    }
    void shutdown(signal).catch((err: unknown) => {
      process.stderr.write(`shutdown failed: ${(err as Error)?.message ?? String(err)}\n`);
      process.exit(1);
    });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  const app = await createApp(config, {
    logger,
    surfaces: (kv) => [...(discord ? [discord.surface(kv)] : []), ...(slack ? [slack.surface(kv)] : [])] as ChatSurface[],
    media: true,
    metrics,
  });
  started.app = app;
  if (!app.videoTools) {
    logger.warn({ ffmpeg: config.FFMPEG_PATH, problem: app.videoToolsProblem }, 'ffmpeg is not available (FFMPEG_PATH): videos over the upload limit will be posted as links, and Extend is unavailable');
  }
  if (closing) return;
  phase = 'starting the core';
  const resumed = await app.service.start();
  if (closing) return;
  const accepting = () => !closing;
  discord?.wire({ service: app.service, useCases: app.useCases, catalogue: app.catalogue, kv: app.kv, accepting });
  slack?.wire({ service: app.service, useCases: app.useCases, catalogue: app.catalogue, kv: app.kv, dispatcher: app.dispatcher, imageDownloads: app.imageDownloads, accepting });
  phase = 'running';
  kept = platforms.map((p) => keepConnected(p, logger));
  const first = await Promise.all(kept.map((k) => k.firstAttempt));
  if (closing) return;
  const state = Object.fromEntries(platforms.map((p, i) => [p.name.toLowerCase(), first[i] ? 'connected' : 'retrying']));
  logger.info(
    { models: app.catalogue.models.map((m) => m.id), platforms: state, resumed, ffmpeg: Boolean(app.videoTools), health: (health.address() as AddressInfo).port },
    platforms.length ? 'seedance-bot is running' : 'seedance-bot is running without a chat platform (set DISCORD_TOKEN and/or SLACK_BOT_TOKEN)',
  );
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`);
  else process.stderr.write(`fatal: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
