/**
 * Wires @slack/bolt to the core: builds the App (options, the Bolt logger
 * adapter), the connection, and registers the listeners from ./listeners/,
 * one module per kind: global and message shortcuts, the modal, /video,
 * mentions and thread replies, and the buttons. Every listener acks first
 * (Slack's 3 s), opening modals at once while the trigger_id is valid.
 */
import { App, LogLevel } from '@slack/bolt';
import type { Logger as BoltLogger } from '@slack/bolt';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type Keyv from 'keyv';
import type { Dispatcher } from 'undici';
import type { Config } from '../../config.js';
import { slackSocketMode } from '../../config.js';
import type { Catalogue } from '../../core/catalogue.js';
import type { JobService } from '../../core/job-service.js';
import type { Logger } from '../../core/logger.js';
import type { ChatSurface } from '../../core/ports.js';
import type { SlackFile } from './slack-files.js';
import { parseSlackRef } from './slack-refs.js';
import type { SlackStart } from './slack-start-job.js';
import { preflightSlack, slackActor, slackWhere, startSlackJob, tellPrivately } from './slack-start-job.js';
import type { VideoUseCases } from '../../usecases/video-use-cases.js';
import { createSlackSurface } from './slack-surface.js';
import type { PlatformConnection } from '../../platform-connection.js';
import { within } from '../../platform-connection.js';
import type { SlackListenerDeps } from './listeners/context.js';
import * as middleware from './listeners/middleware.js';
import * as shortcuts from './listeners/shortcuts.js';
import * as views from './listeners/views.js';
import * as commands from './listeners/commands.js';
import * as admin from './listeners/admin.js';
import * as events from './listeners/events.js';
import * as actions from './listeners/actions.js';
import * as extend from './listeners/extend.js';
import * as home from './listeners/home.js';

export { SLACK_USAGE } from './listeners/context.js';
export { deliveryKey } from './listeners/middleware.js';

function boltLogger(log: Logger): BoltLogger {
  let level = LogLevel.INFO;
  const fmt = (msg: unknown[]) => msg.map((m) => (m instanceof Error ? m.message : String(m))).join(' ');
  return {
    debug: (...m: unknown[]) => log.debug({ bolt: true }, fmt(m)),
    info: (...m: unknown[]) => log.info({ bolt: true }, fmt(m)),
    warn: (...m: unknown[]) => log.warn({ bolt: true }, fmt(m)),
    error: (...m: unknown[]) => log.error({ bolt: true }, fmt(m)),
    setLevel: (l: LogLevel) => void (level = l),
    getLevel: () => level,
    setName: () => undefined,
  };
}

export interface SlackBot {
  surface(kv: Keyv): ChatSurface;
  /** Registers the listeners (once). `accepting` turns new requests away while shutting down. */
  wire(deps: {
    service: JobService;
    useCases: VideoUseCases;
    catalogue: Catalogue;
    kv: Keyv;
    dispatcher: Dispatcher;
    imageDownloads: <T>(fn: () => Promise<T>) => Promise<T>;
    accepting: () => boolean;
  }): void;
  connection: PlatformConnection;
}

export function createSlackBot(config: Config, logger: Logger): SlackBot {
  const log = logger.child({ platform: 'slack' });
  const socketMode = slackSocketMode(config);
  const token = config.SLACK_BOT_TOKEN!;
  const app = new App({
    token,
    // Socket Mode opens its connection (apps.connections.open) with a client of its own: give it the same API base.
    ...(socketMode
      ? { appToken: config.SLACK_APP_TOKEN!, socketMode: true, installerOptions: { clientOptions: { slackApiUrl: config.SLACK_API_URL } } }
      : { signingSecret: config.SLACK_SIGNING_SECRET! }),
    logger: boltLogger(log),
    // Bolt would otherwise call auth.test from its constructor, and a failure there (Slack down at
    // start) is an unhandled rejection that kills the process; connect() initialises it instead.
    deferInitialization: true,
    // A timeout on every call, and no retries of its own: the core retries what is safe to retry
    // (web-api's default policy retries for half an hour, which would hold a delivery that long).
    clientOptions: { slackApiUrl: config.SLACK_API_URL, timeout: config.PLATFORM_TIMEOUT_MS, retryConfig: { retries: 0 } },
  });
  let team = '';
  let botUserId = '';
  let started = false;
  let initialised = false;
  let watching = false;
  let socketUp = false;

  return {
    surface: (kv) => createSlackSurface({ client: app.client, kv, progressIntervalMs: config.SLACK_PROGRESS_INTERVAL_MS }),
    wire({ service, useCases, catalogue, kv, dispatcher, imageDownloads, accepting }) {
      // Who is a workspace admin or owner, remembered for a minute (users.info is rate limited).
      const admins = new Map<string, { admin: boolean; until: number }>();
      async function isAdmin(user: string): Promise<boolean> {
        const known = admins.get(user);
        if (known && known.until > Date.now()) return known.admin;
        const info = await app.client.users.info({ user }).catch(() => undefined);
        const admin = Boolean(info?.user?.is_admin || info?.user?.is_owner);
        if (info) admins.set(user, { admin, until: Date.now() + 60_000 });
        return admin;
      }
      const d = { service, useCases, isAdmin, client: app.client, token, fileHosts: config.SLACK_FILE_HOSTS, dispatcher, logger: log, team: () => team, imageDownloads };

      const deps: SlackListenerDeps = {
        service,
        catalogue,
        kv,
        client: app.client,
        log,
        accepting,
        useCases,
        start: (s: SlackStart) => startSlackJob(d, s),
        preflight: (s: SlackStart) => preflightSlack(d, s).then(() => undefined),
        actor: (user: string) => slackActor(user, isAdmin),
        where: (channel: string) => slackWhere(team, channel),
        isAdmin,
        jobFor: (jobId) => useCases.jobFor(jobId),
        // The same request again (new seed, maybe a new prompt); an image is fetched from Slack again.
        rerun(job, prompt) {
          const imageFile = job.meta.slackFile ? (JSON.parse(job.meta.slackFile) as SlackFile) : undefined;
          const referenceFiles = job.meta.slackReferenceFiles ? (JSON.parse(job.meta.slackReferenceFiles) as SlackFile[]) : undefined;
          return {
            input: useCases.again(job, prompt, { dropImages: Boolean(imageFile || referenceFiles) }),
            ...(imageFile ? { imageFile } : {}),
            ...(referenceFiles ? { referenceFiles } : {}),
          };
        },
        threadOf(job) {
          const ref = parseSlackRef(job.conversation);
          return { channel: ref.channel ?? '', thread: ref.ts };
        },
        team: () => team,
        botUserId: () => botUserId,
        tellPrivately: (p) => tellPrivately(app.client, p),
      };

      app.error(async (err) => {
        log.error({ err }, 'slack listener failed');
      });

      // The middleware first: it must see every delivery before a listener can start a job.
      middleware.register(app, deps);
      shortcuts.register(app, deps);
      views.register(app, deps);
      commands.register(app, deps);
      admin.register(app, deps);
      events.register(app, deps);
      actions.register(app, deps);
      extend.register(app, deps);
      home.register(app, deps);
    },
    connection: {
      name: 'Slack',
      async connect() {
        try {
          await within(
            (async () => {
              const auth = await app.client.auth.test();
              team = auth.team_id ?? 'T';
              botUserId = auth.user_id ?? '';
              if (!initialised) {
                await app.init();
                initialised = true;
              }
              const server = (socketMode ? await app.start() : await app.start(config.PORT)) as Server | undefined;
              started = true;
              socketUp = true;
              watchSocket();
              const port = server && typeof server.address === 'function' ? (server.address() as AddressInfo | null)?.port : undefined;
              log.info({ team, mode: socketMode ? 'socket' : 'http', ...(port ? { port } : {}) }, 'connected to Slack');
            })(),
            config.PLATFORM_CONNECT_TIMEOUT_S * 1000,
            'Slack did not connect',
          );
        } catch (err) {
          await app.stop().catch(() => undefined);
          throw err;
        }
      },
      connected: () => started && socketUp,
      async stop() {
        started = false;
        await app.stop().catch(() => undefined);
      },
    },
  };

  /** In Socket Mode, follows the socket's state (the client reconnects by itself). */
  function watchSocket() {
    if (!socketMode || watching) return;
    const receiver = (app as unknown as { receiver?: { client?: { on?(e: string, f: () => void): void } } }).receiver;
    const events = receiver?.client;
    if (!events?.on) return;
    watching = true;
    events.on('connected', () => (socketUp = true));
    events.on('reconnecting', () => (socketUp = false));
    events.on('disconnected', () => (socketUp = false));
  }
}
