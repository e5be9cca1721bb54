// Shared pieces of INTERACTION_CREATE payloads: where, who, and the interaction record.
import { randomBytes } from 'node:crypto';
import type { World } from './message-ops.js';
import { apiAttachment, apiChannel, apiMember, apiUser, BOT_PERMISSIONS, PRIVATE_APP_PERMISSIONS } from './payloads.js';
import { IDS } from './state.js';
import type { ChannelRecord, GuildRecord, InteractionRecord, StandinState } from './state.js';
import type { AttachmentSeed, InstallKind } from './types.js';

type Obj = Record<string, unknown>;

export interface WhereWho {
  userId?: string;
  channelId?: string;
  guildId?: string | null;
  permissions?: string;
  appPermissions?: string;
  attachmentSizeLimit?: number;
  locale?: string;
  /** Default 'guild' where the bot is a member, 'user' elsewhere (where 'guild' throws). */
  install?: InstallKind;
  /** Default 0 in a server, 1 in the bot's DM, 2 in a DM or group DM between users. */
  context?: 0 | 1 | 2;
}

/**
 * authorizing_integration_owners, as Discord sends it: "0" is the installing server's id ("0" in the bot's DM), "1" the
 * installing user's id. A server that didn't add the bot, or a DM between users, can only have a user install.
 */
function owners(place: Place, install: InstallKind): Record<string, string> {
  const out: Record<string, string> = {};
  if (install !== 'user') out['0'] = place.guild?.id ?? '0';
  if (install !== 'guild') out['1'] = place.userId;
  return out;
}

export interface Place {
  guild?: GuildRecord;
  channel: ChannelRecord;
  userId: string;
}

/** Resolves guild/channel/user: guildId null = the user's DM with the bot; default = first guild's first text channel. */
export function resolvePlace(state: StandinState, p: WhereWho): Place {
  const userId = p.userId ?? IDS.alice;
  state.user(userId);
  if (p.guildId === null) {
    const channel = p.channelId !== undefined ? state.channel(p.channelId) : state.dmChannelFor(userId);
    return { channel, userId };
  }
  if (p.channelId !== undefined) {
    const channel = state.channel(p.channelId);
    const guild = channel.guildId !== undefined ? state.guilds.get(channel.guildId) : undefined;
    return { guild, channel, userId };
  }
  const guild = p.guildId !== undefined ? state.guilds.get(p.guildId) : [...state.guilds.values()][0];
  if (!guild) throw new Error(`Discord stand-in: unknown guild ${String(p.guildId)}`);
  const channel = [...state.channels.values()].find((c) => c.guildId === guild.id && c.type === 0 && !c.deleted);
  if (!channel) throw new Error(`Discord stand-in: guild ${guild.id} has no text channel`);
  return { guild, channel, userId };
}

export function resolvedAttachment(state: StandinState, channelId: string, seed: AttachmentSeed): Obj {
  return { ...apiAttachment(state.declaredAttachment(channelId, seed)), ephemeral: true };
}

/** The common part of every interaction payload (type-specific `data` is added by the caller). */
export function interactionEnvelope(world: World, place: Place, type: number, p: WhereWho): { payload: Obj; rec: InteractionRecord } {
  const { state } = world;
  const id = state.snowflake();
  const token = `aW50ZXJhY3Rpb246${Buffer.from(id).toString('base64url')}:${randomBytes(48).toString('base64url')}`;
  const permissions = p.permissions ?? '0';
  const user = apiUser(state.user(place.userId));
  const guildId = place.guild?.id;
  const limit = p.attachmentSizeLimit ?? state.uploadLimit(place.channel);
  const channel = { ...apiChannel(state, place.channel), ...(guildId !== undefined ? { permissions } : {}) };
  const absent = place.channel.botAbsent === true;
  const install = p.install ?? (absent ? 'user' : 'guild');
  if (absent && install !== 'user') throw new Error(`Discord stand-in: the bot is not in channel ${place.channel.id}, so only a user install can be used there`);
  const context = p.context ?? (guildId !== undefined ? 0 : absent ? 2 : 1);
  const authorizing = owners(place, install);
  // Where the bot is a member it has its role's permissions; elsewhere (and in DMs) Discord grants a fixed set.
  const appPermissions = p.appPermissions ?? (absent || guildId === undefined ? PRIVATE_APP_PERMISSIONS : BOT_PERMISSIONS);
  const payload: Obj = {
    id,
    application_id: state.applicationId,
    type,
    token,
    version: 1,
    channel_id: place.channel.id,
    channel,
    app_permissions: appPermissions,
    locale: p.locale ?? 'en-US',
    entitlements: [],
    authorizing_integration_owners: authorizing,
    context,
    attachment_size_limit: limit,
  };
  if (place.guild) {
    payload.guild_id = place.guild.id;
    payload.guild = { id: place.guild.id, locale: 'en-US', features: [] };
    payload.guild_locale = 'en-US';
    payload.member = apiMember(state, place.guild, place.userId, { permissions });
  } else {
    payload.user = user;
  }
  const rec: InteractionRecord = {
    id,
    token,
    type,
    channelId: place.channel.id,
    guildId,
    userId: place.userId,
    createdAt: Date.now(),
    acknowledged: false,
    attachmentSizeLimit: limit,
    responseMessageType: 0,
    owners: authorizing,
    install,
    context,
  };
  return { payload, rec };
}

/** The INTERACTION_CREATE payload each interaction was dispatched with, for redelivery. */
const dispatched = new WeakMap<InteractionRecord, Obj>();

/** Registers the interaction and sends INTERACTION_CREATE; throws when no bot is connected. */
export function dispatchInteraction(world: World, payload: Obj, rec: InteractionRecord): void {
  world.gateway.requireSessionFor(rec.guildId);
  world.state.interactions.set(rec.id, rec);
  world.state.interactionsByToken.set(rec.token, rec);
  dispatched.set(rec, payload);
  world.gateway.dispatch('INTERACTION_CREATE', payload);
}

/**
 * Sends the same INTERACTION_CREATE again (same id and token, same record), as overlapping sessions or a replay do.
 * Its callback state is shared with the first copy: once one copy was answered, the other's callback gets 400 40060.
 */
export function redeliverInteraction(world: World, id: string): void {
  const rec = world.state.interactions.get(id);
  const payload = rec ? dispatched.get(rec) : undefined;
  if (!rec || !payload) throw new Error(`Discord stand-in: unknown interaction ${id}`);
  world.gateway.requireSessionFor(rec.guildId);
  world.gateway.dispatch('INTERACTION_CREATE', payload);
}

/** Id of a registered command with that name (guild first, then global), else a fresh snowflake; guild_id for guild commands. */
export function commandRef(state: StandinState, name: string, type: number, guildId: string | undefined): { id: string; guild_id?: string } {
  const guildList = guildId !== undefined ? (state.commands.guild.get(guildId) ?? []) : [];
  for (const [list, scope] of [[guildList, guildId], [state.commands.global, undefined]] as const) {
    const hit = (list as Obj[]).find((c) => c.name === name && (c.type ?? 1) === type);
    if (hit && typeof hit.id === 'string') return scope !== undefined ? { id: hit.id, guild_id: scope } : { id: hit.id };
  }
  return { id: state.snowflake() };
}
