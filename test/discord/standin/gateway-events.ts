// Gateway events that mirror state changes, filtered by intents like Discord does.
import { INTENT } from './gateway.js';
import type { Gateway } from './gateway.js';
import { apiChannel, apiMember, apiMessage, isThreadType } from './payloads.js';
import type { ChannelRecord, MessageRecord, StandinState } from './state.js';

const EPHEMERAL = 64;

function messageIntent(state: StandinState, m: MessageRecord): number {
  return m.guildId === undefined ? INTENT.directMessages : INTENT.guildMessages;
}

/**
 * Without MESSAGE_CONTENT a bot sees no content/embeds/attachments/components (nor those of a forward's snapshot)
 * unless DM, its own, or it is mentioned (a reply mentions the replied-to author only when it pings).
 */
function canSeeContent(state: StandinState, m: MessageRecord, intents: number): boolean {
  return (intents & INTENT.messageContent) !== 0 ||
    m.guildId === undefined ||
    m.authorId === state.botUserId ||
    m.mentionIds.includes(state.botUserId);
}

function messagePayload(state: StandinState, m: MessageRecord, intents: number): Record<string, unknown> {
  // Discord adds channel_type to message events; discord.js needs it to build a partial DM channel.
  const d: Record<string, unknown> = { ...apiMessage(state, m), channel_type: state.channels.get(m.channelId)?.type ?? 0 };
  if (m.guildId !== undefined) {
    d.guild_id = m.guildId;
    const guild = state.guilds.get(m.guildId);
    if (guild && !state.user(m.authorId).bot) d.member = apiMember(state, guild, m.authorId, { withUser: false });
  }
  if (!canSeeContent(state, m, intents)) {
    Object.assign(d, { content: '', embeds: [], attachments: [], components: [] });
    // A forward's snapshot is message content too.
    if (Array.isArray(d.message_snapshots)) {
      d.message_snapshots = d.message_snapshots.map((s: { message: Record<string, unknown> }) => ({
        message: { ...s.message, content: '', embeds: [], attachments: [], components: [] },
      }));
    }
  }
  return d;
}

/** The bot gets no events from channels it is not in. */
const unseen = (state: StandinState, m: MessageRecord): boolean => ((m.flags ?? 0) & EPHEMERAL) !== 0 || state.channels.get(m.channelId)?.botAbsent === true;

export function emitMessageCreate(gateway: Gateway, state: StandinState, m: MessageRecord): void {
  if (unseen(state, m)) return;
  gateway.dispatch('MESSAGE_CREATE', (intents) =>
    (intents & messageIntent(state, m)) === 0 ? undefined : messagePayload(state, m, intents));
}

export function emitMessageUpdate(gateway: Gateway, state: StandinState, m: MessageRecord): void {
  if (unseen(state, m)) return;
  gateway.dispatch('MESSAGE_UPDATE', (intents) =>
    (intents & messageIntent(state, m)) === 0 ? undefined : messagePayload(state, m, intents));
}

export function emitMessageDelete(gateway: Gateway, state: StandinState, m: MessageRecord): void {
  if (unseen(state, m)) return;
  const d = { id: m.id, channel_id: m.channelId, ...(m.guildId !== undefined ? { guild_id: m.guildId } : {}) };
  gateway.dispatch('MESSAGE_DELETE', (intents) => ((intents & messageIntent(state, m)) === 0 ? undefined : d));
}

export function emitThreadCreate(gateway: Gateway, state: StandinState, thread: ChannelRecord): void {
  const d = { ...apiChannel(state, thread), newly_created: true };
  gateway.dispatch('THREAD_CREATE', (intents) => ((intents & INTENT.guilds) === 0 ? undefined : d));
}

export function emitChannelDelete(gateway: Gateway, state: StandinState, c: ChannelRecord): void {
  if (c.guildId === undefined || c.botAbsent === true) return;
  const thread = isThreadType(c.type);
  const d = thread ? { id: c.id, type: c.type, guild_id: c.guildId, parent_id: c.parentId ?? null } : apiChannel(state, c);
  gateway.dispatch(thread ? 'THREAD_DELETE' : 'CHANNEL_DELETE', (intents) => ((intents & INTENT.guilds) === 0 ? undefined : d));
}
