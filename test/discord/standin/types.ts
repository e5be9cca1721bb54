// Public types of the Discord stand-in (REST v10 + Gateway) used by tests.

/** Options for {@link startDiscordStandin}. Every field has a default. */
export interface StandinOptions {
  /** Port to listen on (127.0.0.1); 0 or absent picks a free one. */
  port?: number;
  /** The valid bot token. Default 'test-discord-token'. */
  token?: string;
  /** Default '900000000000000001'. */
  applicationId?: string;
  /** Default '900000000000000002'. */
  botUserId?: string;
  /** Default: one guild 'Test Guild' (800000000000000001) with text channels 810000000000000001 ('general') and 810000000000000002. */
  guilds?: GuildSeed[];
  /** HELLO heartbeat interval. Default 41250. */
  heartbeatIntervalMs?: number;
  /** Time allowed for the initial interaction callback, like Discord's 3 s. Later callbacks get 404 10062. Default 3000. */
  interactionAckTimeoutMs?: number;
  /** When false, IDENTIFY with a privileged intent (members, presences, message content) is closed with 4014. Default true. */
  privilegedIntentsEnabled?: boolean;
  /** How long an interaction token works on /webhooks/{app}/{token}, like Discord's 15 minutes; later 401 50027. Default 900000. */
  webhookTokenTtlMs?: number;
  /** DMs and group DMs between users (context 2) the bot is not in; reachable only through a user install's interactions. */
  privateChannels?: PrivateChannelSeed[];
  /** `shards` in GET /gateway/bot (Discord's recommended count); `setRecommendedShards` changes it later. Default 1. */
  recommendedShards?: number;
  /** `session_start_limit.max_concurrency` in GET /gateway/bot: discord.js IDENTIFYs that many shards at once, 5 s apart. Default 1. */
  maxConcurrency?: number;
  /** More of the bot's servers than this on one shard closes IDENTIFY with 4011 Sharding required. Default 2500, like Discord. */
  maxGuildsPerShard?: number;
}

/** A DM (type 1) or group DM (type 3) between users, without the bot. */
export interface PrivateChannelSeed {
  id: string;
  /** Default 3 (group DM). */
  type?: 1 | 3;
  recipientIds: string[];
  name?: string;
}

/** Which installs authorise an interaction: the server's (owners "0"), the user's ("1"), or both. */
export type InstallKind = 'guild' | 'user' | 'both';

/** A guild to seed; channels of type 11/12 with a parentId become threads. */
export interface GuildSeed {
  id: string;
  name: string;
  premiumTier?: 0 | 1 | 2 | 3;
  channels: { id: string; name: string; type?: number; parentId?: string }[];
  /** Default: alice '700000000000000001'. */
  ownerId?: string;
  /**
   * False: the server never added the bot (its members use the app through user installs). It is not in READY, gets no
   * GUILD_CREATE or message events, and bot-token routes for it or its channels answer 403 50001 Missing Access.
   * Default true.
   */
  botMember?: boolean;
}

/** An attachment stored on a message. `data` is empty for attachments that only declare facts (user messages). */
export interface StandinAttachment {
  id: string;
  filename: string;
  size: number;
  contentType?: string;
  data: Buffer;
  url: string;
  width?: number;
  height?: number;
  description?: string;
}

/** A message as the stand-in stores it. */
export interface StandinMessage {
  id: string;
  channelId: string;
  authorId: string;
  content: string;
  embeds: unknown[];
  components: unknown[];
  attachments: StandinAttachment[];
  /** `type` 0 (DEFAULT, a reply) when absent; 1 (FORWARD) for a forwarded message. */
  messageReference?: { type?: 0 | 1; message_id: string; channel_id?: string; guild_id?: string; fail_if_not_exists?: boolean };
  /** A forward's copy of the referenced message, taken when forwarded (Discord sends exactly one). */
  messageSnapshots?: StandinMessageSnapshot[];
  nonce?: string | number;
  flags?: number;
  deleted: boolean;
  editedAt?: string;
  /** Every version, including the first. */
  history: { at: number; content: string; embeds: unknown[]; components: unknown[] }[];
  /** Interaction id when created as an interaction response or follow-up. */
  viaInteraction?: string;
  /** Message type: 0 default, 19 reply, 20 chat input command, 23 context menu command. */
  type: number;
  /** Emoji names the bot reacted with. */
  reactions: string[];
  /** Id of the thread started from this message. */
  threadId?: string;
}

/** What a forward (message_reference type 1) copies of the forwarded message: the content fields, no author. */
export interface StandinMessageSnapshot {
  content: string;
  embeds: unknown[];
  components: unknown[];
  attachments: StandinAttachment[];
  /** Message type of the forwarded message. */
  type: number;
  flags: number;
  mentionIds: string[];
  /** The forwarded message's creation time (ms). */
  createdAt: number;
  editedAt?: string;
}

/** One REST call as received. */
export interface RecordedCall {
  method: string;
  /** Decoded path relative to /api/v10 (e.g. '/channels/1/messages', '/webhooks/1/tok/messages/@original'). */
  path: string;
  query: Record<string, string>;
  auth?: string;
  /** Parsed JSON, or { payload_json, files } for multipart. */
  body: unknown;
  /** HTTP status answered; 0 for a reset (connection dropped without a response). */
  status: number;
  at: number;
  /** The fault this call got (queued with addFault, or returned by the chaos function); absent when handled normally. */
  fault?: AppliedFault;
}

export interface StandinChannel {
  id: string;
  type: number;
  guildId?: string;
  name?: string;
  parentId?: string;
  recipientId?: string;
  /** Group DMs: every recipient. */
  recipientIds?: string[];
  ownerId?: string;
  deleted: boolean;
  /** The bot is not a member (a server that didn't add it, a DM or group DM between users): channel routes answer 403 50001. */
  botAbsent?: boolean;
}

export interface InteractionResponseRecord {
  type: number;
  data?: unknown;
  at: number;
  messageId?: string;
}

/**
 * A REST fault: the next `times` (default 1) matching calls answer with `status`/`body`, after `delayMs`. Without
 * `status` (and without `reset`) the call is only delayed, then handled normally; a delay longer than the client's
 * timeout is a hang. A 429 gets Discord's `retry-after` header and, by default, the body
 * `{message, retry_after: 0.05, global: false}` (the header follows a given body's `retry_after`).
 */
export interface FaultSpec {
  method?: string;
  pathIncludes?: string;
  times?: number;
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  delayMs?: number;
  /** After `delayMs`, destroy the connection without answering (a connection reset). Not combinable with `status`. */
  reset?: boolean;
}

/** Where a fault came from: the queue of one-shot faults (addFault) or the chaos function (setChaos). */
export type FaultSource = 'queued' | 'chaos';

/** A fault as applied to one REST call. */
export type AppliedFault = FaultSpec & { source: FaultSource };

/** What the chaos function is told about a REST call (gateway upgrades never reach it). */
export interface ChaosRequest {
  method: string;
  /** Decoded path relative to /api/v10 (as in RecordedCall.path); the whole path for requests outside /api/v10. */
  path: string;
  query: Record<string, string>;
  /** The matched route pattern, e.g. '/channels/:channelId/messages' or '/interactions/:interactionId/:token/callback'. */
  route?: string;
  /** The JSON payload (payload_json for multipart), undefined when there is none. */
  body: unknown;
}

/**
 * Called for every REST call no queued fault matched. Returns undefined to handle the call normally, or a fault for
 * this one call; its matching fields (method, pathIncludes, times) are ignored.
 */
export type ChaosFn = (req: ChaosRequest) => FaultSpec | undefined;

/** Declared facts about an attachment a user supplies. */
export interface AttachmentSeed {
  id?: string;
  filename: string;
  contentType?: string;
  size: number;
  width?: number;
  height?: number;
  url?: string;
}

export interface SlashCommandInput {
  name: string;
  /** Raw API options ({name, type, value}). A type-11 option whose value is absent takes the next attachment's id; a value equal to a filename becomes that attachment's id. */
  options?: unknown[];
  attachments?: AttachmentSeed[];
  userId?: string;
  channelId?: string;
  /** null = DM with the bot. */
  guildId?: string | null;
  /** Member permissions bitfield. Default '0'. */
  permissions?: string;
  /** Bot permissions bitfield (app_permissions). Default: generous where the bot is a member, a user install's set elsewhere. */
  appPermissions?: string;
  /** Default 10485760. */
  attachmentSizeLimit?: number;
  locale?: string;
  /** Default 'guild' where the bot is a member, 'user' elsewhere (where 'guild' throws). */
  install?: InstallKind;
  /** Interaction context. Default 0 in a server, 1 in the bot's DM, 2 in a DM or group DM between users. */
  context?: 0 | 1 | 2;
}

export interface MessageCommandInput {
  name: string;
  target: { id?: string; channelId?: string; authorId?: string; content?: string; attachments?: AttachmentSeed[] };
  userId?: string;
  channelId?: string;
  guildId?: string | null;
  permissions?: string;
  attachmentSizeLimit?: number;
  install?: InstallKind;
  context?: 0 | 1 | 2;
}

export interface UserMessageInput {
  /** Default ''. Must be '' for a forward. */
  content?: string;
  userId?: string;
  channelId?: string;
  guildId?: string | null;
  /** Prefixes `<@bot> ` to the content (unless it already mentions the bot). */
  mentionBot?: boolean;
  /** The message this one replies to (type 19, message_reference type 0), or forwards with `forward: true`. */
  referenceId?: string;
  /**
   * For a reply: whether it pings the replied-to author (the client's default, true). Only a pinging reply puts that
   * author in `mentions` (which, for the bot, also lets it see the content without the Message Content intent).
   */
  replyPing?: boolean;
  /**
   * Forwards the `referenceId` message (which may be in another channel): a type-0 message with empty content, no
   * attachments or mentions of its own, flag HAS_SNAPSHOT, message_reference type 1 (FORWARD), and
   * `message_snapshots: [{ message }]` holding a copy of the forwarded message's content, embeds and attachments.
   */
  forward?: boolean;
  attachments?: Omit<AttachmentSeed, 'id'>[];
}
