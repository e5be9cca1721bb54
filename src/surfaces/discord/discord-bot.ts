/**
 * Wires discord.js to the core: the client (intents, partials, REST base,
 * shards), the surface (which the core uses to post and edit), the event
 * handlers, and the connection (login and every shard READY, retried on its own
 * by platform-connection.ts; see discord-shards.ts).
 *
 * The core posts and edits through a REST client of its own, with the bot token
 * set from the start: it works before the gateway is up (resumed jobs), while a
 * login is retried, and while the gateway is shut down (uploads finishing during
 * the shutdown grace). discord.js clears its own client's token on destroy.
 */
// REST from discord.js (its CommonJS copy), so its errors are the DiscordAPIError the surface checks for.
import { Client, Events, GatewayIntentBits, Partials, REST } from 'discord.js';
import type Keyv from 'keyv';
import type { Config } from '../../config.js';
import type { Catalogue } from '../../core/catalogue.js';
import type { JobService } from '../../core/job-service.js';
import type { Logger } from '../../core/logger.js';
import type { ChatSurface } from '../../core/ports.js';
import type { PlatformConnection } from '../../platform-connection.js';
import { within } from '../../platform-connection.js';
import { createGuildTiers } from './discord-guild-tier.js';
import { createInteractionHandler } from './discord-interactions.js';
import { createMessageHandler } from './discord-messages.js';
import { allShardsReady, logShards, shardLost, shardOptions } from './discord-shards.js';
import { createDiscordSurface } from './discord-surface.js';
import type { VideoUseCases } from '../../usecases/video-use-cases.js';

/** Intents the bot asks for. Message Content is privileged and only requested when configured. */
export function discordIntents(messageContent: boolean): GatewayIntentBits[] {
  return [
    GatewayIntentBits.Guilds,
    GatewayIntentBits.GuildMessages,
    GatewayIntentBits.DirectMessages,
    ...(messageContent ? [GatewayIntentBits.MessageContent] : []),
  ];
}

export interface DiscordBot {
  client: Client;
  /** Built once the store is open; the core posts and edits through it. */
  surface(kv: Keyv): ChatSurface;
  /** Registers the event handlers (once). `accepting` turns new requests away while shutting down. */
  wire(deps: { service: JobService; useCases: VideoUseCases; catalogue: Catalogue; kv: Keyv; accepting: () => boolean }): void;
  connection: PlatformConnection;
}

export function createDiscordBot(config: Config, logger: Logger): DiscordBot {
  const log = logger.child({ platform: 'discord' });
  const token = config.DISCORD_TOKEN!;
  const rest = new REST({ api: config.DISCORD_API_URL, timeout: config.PLATFORM_TIMEOUT_MS }).setToken(token);
  /** The event handlers, attached to each client (set by wire()). */
  let handlers: (c: Client) => void = () => {};
  const newClient = () => {
    const c = new Client({
      intents: discordIntents(config.DISCORD_MESSAGE_CONTENT),
      partials: [Partials.Channel, Partials.Message],
      rest: { api: config.DISCORD_API_URL, timeout: config.PLATFORM_TIMEOUT_MS },
      ...shardOptions(config.DISCORD_SHARD_COUNT, config.DISCORD_SHARDS),
    });
    c.on(Events.Error, (err) => log.error({ err }, 'discord client error'));
    logShards(c, log);
    c.on(Events.ShardError, (err) => log.warn({ err }, 'discord gateway error'));
    c.on(Events.Warn, (msg) => log.warn({ msg }, 'discord warning'));
    handlers(c);
    return c;
  };
  // A discord.js client isn't reusable after a failed login (its gateway manager stays marked
  // destroyed, and destroying it while it waits for READY can hang): each retry gets a new one.
  let client = newClient();
  /** Whether `client` has connected (a client serves one connection only). */
  let used = false;
  let lost: Promise<Error> | undefined;
  const retire = async (old: Client) => {
    old.removeAllListeners();
    old.on(Events.Error, () => undefined);
    await Promise.race([old.destroy().catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
  };

  // The cache holds only this instance's shards' servers (and nothing before READY): others are asked over REST.
  const guildTier = createGuildTiers({ rest, cached: (id) => client.guilds.cache.get(id)?.premiumTier, logger: log });

  return {
    get client() {
      return client;
    },
    surface: (kv) =>
      createDiscordSurface({
        rest,
        kv,
        progressIntervalMs: config.DISCORD_PROGRESS_INTERVAL_MS,
        allowDms: config.DISCORD_ALLOW_DMS,
        guildTier,
        interactionTokenTtlMs: config.DISCORD_INTERACTION_TOKEN_TTL_S * 1000,
        logger: log,
      }),
    wire({ service, useCases, catalogue, kv, accepting }) {
      const shared = {
        service,
        useCases,
        rest,
        logger: log,
        threadPerVideo: config.DISCORD_THREAD_PER_VIDEO,
        catalogue,
        cdnHosts: config.DISCORD_CDN_HOSTS,
        interactionTokenTtlMs: config.DISCORD_INTERACTION_TOKEN_TTL_S * 1000,
        accepting,
      };
      const onInteraction = createInteractionHandler(shared);
      const onMessage = createMessageHandler({ ...shared, kv, botUserId: () => client.user?.id, allowDms: config.DISCORD_ALLOW_DMS });
      handlers = (c) => {
        c.on(Events.InteractionCreate, (i) => void onInteraction(i));
        c.on(Events.MessageCreate, (m) => void onMessage(m));
      };
      handlers(client);
    },
    connection: {
      name: 'Discord',
      async connect() {
        if (used) {
          // Reconnecting after the connection was lost: a fresh client (and, with auto, a fresh shard count).
          const old = client;
          client = newClient();
          used = false;
          await retire(old);
        }
        const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
        try {
          // login() resolves once the gateway session is up; READY (with the guilds) may still never come.
          // Shards identify one after another (5 s apart at max_concurrency 1): the wait restarts at each shard's READY.
          await within(
            client.login(token).then(() => ready),
            config.PLATFORM_CONNECT_TIMEOUT_S * 1000,
            'Discord did not become ready',
            (restart) => client.on(Events.ShardReady, restart),
          );
        } catch (err) {
          const old = client;
          client = newClient();
          await retire(old);
          throw err;
        }
        used = true;
        lost = shardLost(client);
        const { shards, shardCount } = client.options;
        log.info({ user: client.user?.tag, guilds: client.guilds.cache.size, shards, shardCount }, 'connected to Discord');
      },
      // Every shard this instance runs is READY; one reconnecting or closed for good makes it false.
      connected: () => allShardsReady(client),
      lost: () => lost ?? new Promise<Error>(() => undefined),
      async stop() {
        await retire(client);
      },
    },
  };
}
