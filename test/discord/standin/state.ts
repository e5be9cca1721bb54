// In-memory world of the stand-in: users, guilds, channels, messages, interactions.
import { fail } from './errors.js';
import type {
  GuildSeed,
  InstallKind,
  InteractionResponseRecord,
  RecordedCall,
  StandinAttachment,
  StandinChannel,
  StandinMessage,
  StandinOptions,
} from './types.js';

export const IDS = {
  alice: '700000000000000001',
  bob: '700000000000000002',
  app: '900000000000000001',
  bot: '900000000000000002',
  guild: '800000000000000001',
  general: '810000000000000001',
  second: '810000000000000002',
} as const;

const DISCORD_EPOCH = 1420070400000n;
export const MIB = 1024 * 1024;

export interface UserRecord {
  id: string;
  username: string;
  globalName: string | null;
  bot: boolean;
}

export interface GuildRecord {
  id: string;
  name: string;
  premiumTier: 0 | 1 | 2 | 3;
  ownerId: string;
  joinedAt: string;
  /** False for a server that never added the bot. */
  botMember: boolean;
}

export interface ChannelRecord extends StandinChannel {
  createdAt: number;
  lastMessageId?: string;
}

/** What a message's `interaction_metadata` describes. */
export interface MessageInteractionInfo {
  id: string;
  type: number;
  userId: string;
  name?: string;
  /** authorizing_integration_owners of the interaction. */
  owners?: Record<string, string>;
}

export interface MessageRecord extends StandinMessage {
  createdAt: number;
  guildId?: string;
  mentionIds: string[];
  webhookId?: string;
  interaction?: MessageInteractionInfo;
}

export interface InteractionRecord {
  id: string;
  token: string;
  type: number;
  channelId: string;
  guildId?: string;
  userId: string;
  createdAt: number;
  acknowledged: boolean;
  /** The message a component/modal interaction came from. */
  sourceMessageId?: string;
  /** What webhooks/.../messages/@original refers to once acknowledged. */
  originalMessageId?: string;
  attachmentSizeLimit: number;
  name?: string;
  /** Message type of the response message (20 chat input, 23 context menu, 0 otherwise). */
  responseMessageType: number;
  /** authorizing_integration_owners as sent ("0": the server's install, "1": the user's). */
  owners: Record<string, string>;
  install: InstallKind;
  context: number;
}

export class StandinState {
  readonly token: string;
  readonly applicationId: string;
  readonly botUserId: string;
  readonly ackTimeoutMs: number;
  readonly webhookTokenTtlMs: number;
  readonly users = new Map<string, UserRecord>();
  readonly guilds = new Map<string, GuildRecord>();
  readonly channels = new Map<string, ChannelRecord>();
  readonly messages = new Map<string, MessageRecord>();
  readonly interactions = new Map<string, InteractionRecord>();
  readonly interactionsByToken = new Map<string, InteractionRecord>();
  readonly interactionResponses = new Map<string, InteractionResponseRecord>();
  readonly commands = { global: [] as unknown[], guild: new Map<string, unknown[]>() };
  readonly calls: RecordedCall[] = [];
  /** `shards` and `max_concurrency` that GET /gateway/bot answers. */
  recommendedShards: number;
  readonly maxConcurrency: number;
  private readonly dmChannels = new Map<string, string>();
  private lastSnowflake = 0n;

  constructor(opts: StandinOptions) {
    this.token = opts.token ?? 'test-discord-token';
    this.applicationId = opts.applicationId ?? IDS.app;
    this.botUserId = opts.botUserId ?? IDS.bot;
    this.ackTimeoutMs = opts.interactionAckTimeoutMs ?? 3000;
    this.webhookTokenTtlMs = opts.webhookTokenTtlMs ?? 15 * 60 * 1000;
    this.recommendedShards = opts.recommendedShards ?? 1;
    this.maxConcurrency = opts.maxConcurrency ?? 1;
    this.users.set(this.botUserId, { id: this.botUserId, username: 'Seedance Bot', globalName: null, bot: true });
    this.users.set(IDS.alice, { id: IDS.alice, username: 'alice', globalName: 'Alice', bot: false });
    this.users.set(IDS.bob, { id: IDS.bob, username: 'bob', globalName: 'Bob', bot: false });
    for (const seed of opts.guilds ?? [defaultGuild()]) this.seedGuild(seed);
    for (const p of opts.privateChannels ?? []) {
      for (const id of p.recipientIds) this.user(id);
      const type = p.type ?? 3;
      this.channels.set(p.id, {
        id: p.id,
        type,
        name: p.name,
        recipientId: p.recipientIds[0],
        recipientIds: [...p.recipientIds],
        deleted: false,
        botAbsent: true,
        createdAt: Date.now(),
      });
    }
  }

  /** Throws 403 50001 Missing Access when the bot is not a member of the channel (or its server). */
  botAccess(channelId: string): void {
    if (this.channels.get(channelId)?.botAbsent === true) throw fail.missingAccess();
  }

  /** Increasing snowflake carrying the current time, like Discord's. */
  snowflake(): string {
    const fromClock = (BigInt(Date.now()) - DISCORD_EPOCH) << 22n;
    this.lastSnowflake = fromClock > this.lastSnowflake ? fromClock : this.lastSnowflake + 1n;
    return this.lastSnowflake.toString();
  }

  user(id: string): UserRecord {
    let u = this.users.get(id);
    if (!u) {
      u = { id, username: `user${id.slice(-4)}`, globalName: null, bot: false };
      this.users.set(id, u);
    }
    return u;
  }

  channel(id: string): ChannelRecord {
    const c = this.channels.get(id);
    if (!c || c.deleted) throw fail.unknownChannel();
    return c;
  }

  /** A live message of `channelId` (any channel when omitted), else 404 10008. */
  message(id: string, channelId?: string): MessageRecord {
    const m = this.messages.get(id);
    if (!m || m.deleted || (channelId !== undefined && m.channelId !== channelId)) throw fail.unknownMessage();
    return m;
  }

  /** The bot's DM channel with a user, created once. */
  dmChannelFor(userId: string): ChannelRecord {
    const existing = this.dmChannels.get(userId);
    if (existing) return this.channels.get(existing) as ChannelRecord;
    this.user(userId);
    const c: ChannelRecord = { id: this.snowflake(), type: 1, recipientId: userId, deleted: false, createdAt: Date.now() };
    this.channels.set(c.id, c);
    this.dmChannels.set(userId, c.id);
    return c;
  }

  /** Per-file upload limit in a channel: 10 MiB, boosted guilds 50/100 MiB. */
  uploadLimit(channel: ChannelRecord): number {
    const tier = channel.guildId ? (this.guilds.get(channel.guildId)?.premiumTier ?? 0) : 0;
    return tier === 3 ? 100 * MIB : tier === 2 ? 50 * MIB : 10 * MIB;
  }

  addMessage(m: Omit<MessageRecord, 'id' | 'createdAt' | 'deleted' | 'history' | 'reactions' | 'guildId'> & { id?: string }): MessageRecord {
    const channel = this.channel(m.channelId);
    const rec: MessageRecord = {
      ...m,
      id: m.id ?? this.snowflake(),
      createdAt: Date.now(),
      deleted: false,
      reactions: [],
      history: [],
      guildId: channel.guildId,
    };
    rec.history.push({ at: rec.createdAt, content: rec.content, embeds: rec.embeds, components: rec.components });
    channel.lastMessageId = rec.id;
    this.messages.set(rec.id, rec);
    return rec;
  }

  attachmentUrl(channelId: string, id: string, filename: string): string {
    return `https://cdn.discordapp.com/attachments/${channelId}/${id}/${encodeURIComponent(filename)}`;
  }

  declaredAttachment(channelId: string, a: { id?: string; filename: string; contentType?: string; size: number; width?: number; height?: number; url?: string }): StandinAttachment {
    const id = a.id ?? this.snowflake();
    return {
      id,
      filename: a.filename,
      size: a.size,
      contentType: a.contentType,
      data: Buffer.alloc(0),
      url: a.url ?? this.attachmentUrl(channelId, id, a.filename),
      width: a.width,
      height: a.height,
    };
  }

  private seedGuild(seed: GuildSeed): void {
    const ownerId = seed.ownerId ?? IDS.alice;
    this.user(ownerId);
    const botMember = seed.botMember !== false;
    this.guilds.set(seed.id, { id: seed.id, name: seed.name, premiumTier: seed.premiumTier ?? 0, ownerId, joinedAt: new Date().toISOString(), botMember });
    for (const c of seed.channels) {
      const type = c.type ?? 0;
      const isThread = type === 10 || type === 11 || type === 12;
      this.channels.set(c.id, {
        id: c.id,
        type,
        guildId: seed.id,
        name: c.name,
        parentId: c.parentId,
        ownerId: isThread ? ownerId : undefined,
        deleted: false,
        ...(botMember ? {} : { botAbsent: true }),
        createdAt: Date.now(),
      });
    }
  }
}

export function defaultGuild(): GuildSeed {
  return {
    id: IDS.guild,
    name: 'Test Guild',
    premiumTier: 0,
    ownerId: IDS.alice,
    channels: [
      { id: IDS.general, name: 'general', type: 0 },
      { id: IDS.second, name: 'videos', type: 0 },
    ],
  };
}
