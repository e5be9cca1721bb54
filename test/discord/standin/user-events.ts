// Test-side events a human would cause: messages, deletions.
import { emitChannelDelete, emitMessageCreate, emitMessageDelete } from './gateway-events.js';
import { resolvePlace } from './interaction-base.js';
import type { World } from './message-ops.js';
import type { MessageRecord } from './state.js';
import type { StandinMessageSnapshot, UserMessageInput } from './types.js';
import { mentionedUsers } from './validation.js';

/** Message flag HAS_SNAPSHOT: the message is a forward carrying message_snapshots. */
const HAS_SNAPSHOT = 1 << 14;

function snapshotOf(m: MessageRecord): StandinMessageSnapshot {
  // Forwarding a forward copies what it carried.
  const inner = m.messageSnapshots?.[0];
  if (inner) return { ...inner, mentionIds: [...inner.mentionIds], attachments: [...inner.attachments] };
  return {
    content: m.content,
    embeds: m.embeds,
    components: m.components,
    attachments: [...m.attachments],
    type: m.type,
    flags: (m.flags ?? 0) & ~HAS_SNAPSHOT,
    mentionIds: [...m.mentionIds],
    createdAt: m.createdAt,
    ...(m.editedAt !== undefined ? { editedAt: m.editedAt } : {}),
  };
}

export function userMessage(world: World, p: UserMessageInput): MessageRecord {
  const { state, gateway } = world;
  if (!gateway.hasSession) throw new Error('Discord stand-in: no bot is connected to the gateway (await waitForReady() first)');
  const place = resolvePlace(state, p);
  if (place.channel.botAbsent !== true) gateway.requireSessionFor(place.guild?.id);
  const target = p.referenceId !== undefined ? state.message(p.referenceId) : undefined;
  const reference = target
    ? { message_id: target.id, channel_id: target.channelId, ...(target.guildId ? { guild_id: target.guildId } : {}) }
    : undefined;
  if (p.forward === true) {
    if (!target) throw new Error('Discord stand-in: a forward needs referenceId (the message to forward)');
    if ((p.content ?? '') !== '' || (p.attachments ?? []).length > 0 || p.mentionBot === true) {
      throw new Error('Discord stand-in: a forward has no content, attachments or mentions of its own (send those as a separate message)');
    }
    const message = state.addMessage({
      channelId: place.channel.id,
      authorId: place.userId,
      content: '',
      embeds: [],
      components: [],
      attachments: [],
      messageReference: { type: 1, ...reference! },
      messageSnapshots: [snapshotOf(target)],
      nonce: state.snowflake(),
      flags: HAS_SNAPSHOT,
      type: 0,
      mentionIds: [],
    });
    emitMessageCreate(gateway, state, message);
    return message;
  }
  const botMention = `<@${state.botUserId}>`;
  const raw = p.content ?? '';
  const content = p.mentionBot === true && !raw.includes(botMention) ? `${botMention} ${raw}`.trimEnd() : raw;
  const mentionIds = mentionedUsers({}, content);
  // Only a reply that pings puts the replied-to author in mentions (the client pings by default).
  if (target && p.replyPing !== false && !mentionIds.includes(target.authorId)) mentionIds.push(target.authorId);
  const message = state.addMessage({
    channelId: place.channel.id,
    authorId: place.userId,
    content,
    embeds: [],
    components: [],
    attachments: (p.attachments ?? []).map((a) => state.declaredAttachment(place.channel.id, a)),
    ...(reference ? { messageReference: { type: 0 as const, ...reference } } : {}),
    nonce: state.snowflake(),
    flags: 0,
    type: target ? 19 : 0,
    mentionIds,
  });
  emitMessageCreate(gateway, state, message);
  return message;
}

/** Dispatches MESSAGE_CREATE for a stored message again (same id), as a resume replay or an overlapping session does. */
export function redeliverMessage(world: World, id: string): void {
  const m = world.state.messages.get(id);
  if (!m) throw new Error(`Discord stand-in: unknown message ${id}`);
  world.gateway.requireSessionFor(m.guildId);
  emitMessageCreate(world.gateway, world.state, m);
}

export function deleteMessage(world: World, id: string): void {
  const m = world.state.messages.get(id);
  if (!m) throw new Error(`Discord stand-in: unknown message ${id}`);
  if (m.deleted) return;
  m.deleted = true;
  emitMessageDelete(world.gateway, world.state, m);
}

export function deleteChannel(world: World, id: string): void {
  const c = world.state.channels.get(id);
  if (!c) throw new Error(`Discord stand-in: unknown channel ${id}`);
  if (c.deleted) return;
  c.deleted = true;
  emitChannelDelete(world.gateway, world.state, c);
}
