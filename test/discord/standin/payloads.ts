// Discord API objects (users, members, channels, messages, guilds) built from the stand-in's records.
import type { ChannelRecord, GuildRecord, MessageRecord, StandinState, UserRecord } from './state.js';
import type { StandinAttachment, StandinMessageSnapshot } from './types.js';

type Json = Record<string, unknown>;

/** Generous bot permissions: view, send, embed, attach, history, manage messages/threads, threads, app commands. */
export const BOT_PERMISSIONS = (
  (1n << 10n) | (1n << 11n) | (1n << 13n) | (1n << 14n) | (1n << 15n) | (1n << 16n) | (1n << 18n) |
  (1n << 31n) | (1n << 34n) | (1n << 35n) | (1n << 38n) | (1n << 6n)
).toString();
/**
 * app_permissions where the bot is not a member (a user install) and in DMs: attach files, embed links, mention
 * everyone, external emojis. No View Channel or Send Messages: only the interaction's own responses can post there.
 */
export const PRIVATE_APP_PERMISSIONS = ((1n << 14n) | (1n << 15n) | (1n << 17n) | (1n << 18n)).toString();
/** @everyone in a seeded guild: view, send, embed, attach, history, app commands. */
export const EVERYONE_PERMISSIONS = ((1n << 10n) | (1n << 11n) | (1n << 14n) | (1n << 15n) | (1n << 16n) | (1n << 31n) | (1n << 38n)).toString();

export const iso = (ms: number): string => new Date(ms).toISOString();

export function apiUser(u: UserRecord): Json {
  return {
    id: u.id,
    username: u.username,
    discriminator: '0',
    global_name: u.globalName,
    avatar: null,
    ...(u.bot ? { bot: true } : {}),
    public_flags: 0,
    flags: 0,
    banner: null,
    accent_color: null,
    avatar_decoration_data: null,
    collectibles: null,
    primary_guild: null,
  };
}

/** A guild member; `withUser` false for MESSAGE_CREATE's `member` (Discord omits the user there). */
/** The bot's managed role in a guild (it carries BOT_PERMISSIONS). */
export function botRoleId(guildId: string): string {
  return (BigInt(guildId) + 100n).toString();
}

export function apiMember(state: StandinState, guild: GuildRecord, userId: string, opts: { withUser?: boolean; permissions?: string } = {}): Json {
  return {
    ...(opts.withUser === false ? {} : { user: apiUser(state.user(userId)) }),
    roles: userId === state.botUserId ? [botRoleId(guild.id)] : [],
    nick: null,
    avatar: null,
    banner: null,
    joined_at: guild.joinedAt,
    premium_since: null,
    deaf: false,
    mute: false,
    flags: 0,
    pending: false,
    communication_disabled_until: null,
    ...(opts.permissions !== undefined ? { permissions: opts.permissions } : {}),
  };
}

function channelPosition(state: StandinState, c: ChannelRecord): number {
  let i = 0;
  for (const other of state.channels.values()) {
    if (other.id === c.id) return i;
    if (other.guildId === c.guildId) i += 1;
  }
  return i;
}

export function isThreadType(type: number): boolean {
  return type === 10 || type === 11 || type === 12;
}

export function apiChannel(state: StandinState, c: ChannelRecord): Json {
  const last = c.lastMessageId ?? null;
  if (c.type === 1 || c.type === 3) {
    const ids = c.recipientIds ?? [c.recipientId ?? '0'];
    const recipients = ids.map((id) => apiUser(state.user(id)));
    if (c.type === 1) return { id: c.id, type: c.type, last_message_id: last, flags: 0, recipients };
    return { id: c.id, type: c.type, name: c.name ?? null, icon: null, owner_id: ids[0], last_message_id: last, flags: 0, recipients };
  }
  if (isThreadType(c.type)) {
    let count = 0;
    for (const m of state.messages.values()) if (m.channelId === c.id && !m.deleted) count += 1;
    return {
      id: c.id,
      type: c.type,
      guild_id: c.guildId,
      parent_id: c.parentId ?? null,
      owner_id: c.ownerId ?? state.botUserId,
      name: c.name ?? 'thread',
      last_message_id: last,
      flags: 0,
      rate_limit_per_user: 0,
      message_count: count,
      member_count: 1,
      total_message_sent: count,
      thread_metadata: {
        archived: false,
        auto_archive_duration: 1440,
        archive_timestamp: iso(c.createdAt),
        locked: false,
        create_timestamp: iso(c.createdAt),
      },
    };
  }
  return {
    id: c.id,
    type: c.type,
    guild_id: c.guildId,
    name: c.name ?? 'channel',
    position: channelPosition(state, c),
    parent_id: c.parentId ?? null,
    permission_overwrites: [],
    nsfw: false,
    topic: null,
    last_message_id: last,
    rate_limit_per_user: 0,
    flags: 0,
  };
}

export function apiAttachment(a: StandinAttachment): Json {
  return {
    id: a.id,
    filename: a.filename,
    size: a.size,
    url: a.url,
    proxy_url: a.url.replace('https://cdn.discordapp.com/', 'https://media.discordapp.net/'),
    ...(a.contentType !== undefined ? { content_type: a.contentType } : {}),
    ...(a.width !== undefined ? { width: a.width } : {}),
    ...(a.height !== undefined ? { height: a.height } : {}),
    ...(a.description !== undefined ? { description: a.description } : {}),
  };
}

function apiEmbed(e: unknown): unknown {
  return typeof e === 'object' && e !== null && !('type' in e) ? { type: 'rich', ...e } : e;
}

/** The message subset a forward's snapshot carries (no id, channel or author). */
export function apiSnapshot(state: StandinState, snap: StandinMessageSnapshot): Json {
  return {
    type: snap.type,
    content: snap.content,
    embeds: snap.embeds.map(apiEmbed),
    attachments: snap.attachments.map(apiAttachment),
    timestamp: iso(snap.createdAt),
    edited_timestamp: snap.editedAt ?? null,
    flags: snap.flags,
    mentions: snap.mentionIds.map((id) => apiUser(state.user(id))),
    mention_roles: [],
    components: snap.components,
    sticker_items: [],
  };
}

/** The message object REST answers with; gateway events add guild_id/member. */
export function apiMessage(state: StandinState, m: MessageRecord, depth = 0): Json {
  const out: Json = {
    id: m.id,
    channel_id: m.channelId,
    author: apiUser(state.user(m.authorId)),
    content: m.content,
    timestamp: iso(m.createdAt),
    edited_timestamp: m.editedAt ?? null,
    tts: false,
    mention_everyone: false,
    mentions: m.mentionIds.map((id) => apiUser(state.user(id))),
    mention_roles: [],
    attachments: m.attachments.map(apiAttachment),
    embeds: m.embeds.map(apiEmbed),
    components: m.components,
    pinned: false,
    type: m.type,
    flags: m.flags ?? 0,
  };
  if (m.nonce !== undefined) out.nonce = m.nonce;
  if (m.webhookId !== undefined) {
    out.webhook_id = m.webhookId;
    out.application_id = state.applicationId;
  }
  if (m.interaction) {
    const user = apiUser(state.user(m.interaction.userId));
    out.interaction_metadata = {
      id: m.interaction.id,
      type: m.interaction.type,
      user,
      authorizing_integration_owners: m.interaction.owners ?? (m.guildId ? { '0': m.guildId } : { '1': m.interaction.userId }),
      ...(m.interaction.name !== undefined ? { name: m.interaction.name } : {}),
    };
    out.interaction = { id: m.interaction.id, type: m.interaction.type, name: m.interaction.name ?? '', user };
  }
  if (m.messageReference) {
    const type = m.messageReference.type ?? 0;
    const guildId = m.messageReference.guild_id ?? m.guildId;
    out.message_reference = { type, channel_id: m.messageReference.channel_id ?? m.channelId, message_id: m.messageReference.message_id, ...(guildId ? { guild_id: guildId } : {}) };
    // referenced_message comes with replies (type 19), not with forwards, which carry message_snapshots instead.
    if (type === 0) {
      const ref = state.messages.get(m.messageReference.message_id);
      out.referenced_message = ref && !ref.deleted && depth === 0 ? apiMessage(state, ref, 1) : null;
    }
  }
  if (m.messageSnapshots) out.message_snapshots = m.messageSnapshots.map((snap) => ({ message: apiSnapshot(state, snap) }));
  if (m.threadId) {
    const thread = state.channels.get(m.threadId);
    if (thread && !thread.deleted) out.thread = apiChannel(state, thread);
  }
  return out;
}

export function guildCreatePayload(state: StandinState, g: GuildRecord): Json {
  const channels: Json[] = [];
  const threads: Json[] = [];
  for (const c of state.channels.values()) {
    if (c.guildId !== g.id || c.deleted) continue;
    (isThreadType(c.type) ? threads : channels).push(apiChannel(state, c));
  }
  const members = [state.botUserId, g.ownerId].filter((id, i, all) => all.indexOf(id) === i);
  return {
    id: g.id,
    name: g.name,
    icon: null,
    splash: null,
    discovery_splash: null,
    owner_id: g.ownerId,
    afk_channel_id: null,
    afk_timeout: 300,
    verification_level: 0,
    default_message_notifications: 0,
    explicit_content_filter: 0,
    mfa_level: 0,
    nsfw_level: 0,
    system_channel_id: null,
    system_channel_flags: 0,
    rules_channel_id: null,
    public_updates_channel_id: null,
    safety_alerts_channel_id: null,
    vanity_url_code: null,
    description: null,
    banner: null,
    premium_tier: g.premiumTier,
    premium_subscription_count: 0,
    premium_progress_bar_enabled: false,
    preferred_locale: 'en-US',
    max_video_channel_users: 25,
    max_stage_video_channel_users: 50,
    application_id: null,
    roles: [
      { id: g.id, name: '@everyone', color: 0, hoist: false, icon: null, unicode_emoji: null, position: 0, permissions: EVERYONE_PERMISSIONS, managed: false, mentionable: false, flags: 0 },
      { id: botRoleId(g.id), name: state.user(state.botUserId).username, color: 0, hoist: false, icon: null, unicode_emoji: null, position: 1, permissions: BOT_PERMISSIONS, managed: true, mentionable: false, flags: 0, tags: { bot_id: state.botUserId } },
    ],
    emojis: [],
    stickers: [],
    features: [],
    joined_at: g.joinedAt,
    large: false,
    unavailable: false,
    member_count: members.length,
    members: members.map((id) => apiMember(state, g, id)),
    channels,
    threads,
    voice_states: [],
    presences: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
    lazy: true,
  };
}
