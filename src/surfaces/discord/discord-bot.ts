/**
 * Wires discord.js to the core: the client (intents, partials, REST base), the
 * surface (which the core uses to post and edit), and the event handlers.
 */
import { Client, Events, GatewayIntentBits, Partials } from 'discord.js';
import type Keyv from 'keyv';
import type { Config } from '../../config.js';
import type { Catalogue } from '../../core/catalogue.js';
import type { JobService } from '../../core/job-service.js';
import type { Logger } from '../../core/logger.js';
import type { ChatSurface } from '../../core/ports.js';
import { createInteractionHandler } from './discord-interactions.js';
import { createMessageHandler } from './discord-messages.js';
import { createDiscordSurface } from './discord-surface.js';
import { createGuildSettings } from './guild-settings.js';

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
  start(deps: { service: JobService; catalogue: Catalogue; kv: Keyv }): Promise<void>;
  stop(): Promise<void>;
}

export function createDiscordBot(config: Config, logger: Logger): DiscordBot {
  const log = logger.child({ platform: 'discord' });
  const client = new Client({
    intents: discordIntents(config.DISCORD_MESSAGE_CONTENT),
    partials: [Partials.Channel, Partials.Message],
    rest: { api: config.DISCORD_API_URL, timeout: config.PLATFORM_TIMEOUT_MS },
  });
  // The core may edit progress messages of resumed jobs before the gateway is up.
  client.rest.setToken(config.DISCORD_TOKEN!);
  client.on(Events.Error, (err) => log.error({ err }, 'discord client error'));
  client.on(Events.ShardError, (err) => log.warn({ err }, 'discord gateway error'));
  client.on(Events.Warn, (msg) => log.warn({ msg }, 'discord warning'));

  return {
    client,
    surface: (kv) =>
      createDiscordSurface({
        rest: client.rest,
        kv,
        progressIntervalMs: config.DISCORD_PROGRESS_INTERVAL_MS,
        allowDms: config.DISCORD_ALLOW_DMS,
        guildTier: (id) => client.guilds.cache.get(id)?.premiumTier,
      }),
    async start({ service, catalogue, kv }) {
      const shared = {
        service,
        settings: createGuildSettings(kv),
        rest: client.rest,
        logger: log,
        threadPerVideo: config.DISCORD_THREAD_PER_VIDEO,
        catalogue,
        cdnHosts: config.DISCORD_CDN_HOSTS,
      };
      const onInteraction = createInteractionHandler(shared);
      const onMessage = createMessageHandler({ ...shared, kv, botUserId: () => client.user?.id, allowDms: config.DISCORD_ALLOW_DMS });
      client.on(Events.InteractionCreate, (i) => void onInteraction(i));
      client.on(Events.MessageCreate, (m) => void onMessage(m));
      const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
      await client.login(config.DISCORD_TOKEN);
      await ready;
      log.info({ user: client.user?.tag, guilds: client.guilds.cache.size }, 'connected to Discord');
    },
    async stop() {
      await client.destroy();
    },
  };
}
