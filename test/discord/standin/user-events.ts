// Test-side events a human would cause: messages, deletions.
import { emitChannelDelete, emitMessageCreate, emitMessageDelete } from './gateway-events.js';
import { resolvePlace } from './interaction-base.js';
import type { World } from './message-ops.js';
import type { MessageRecord } from './state.js';
import type { UserMessageInput } from './types.js';
import { mentionedUsers } from './validation.js';

export function userMessage(world: World, p: UserMessageInput): MessageRecord {
  const { state, gateway } = world;
  if (!gateway.hasSession) throw new Error('Discord stand-in: no bot is connected to the gateway (await waitForReady() first)');
  const place = resolvePlace(state, p);
  const botMention = `<@${state.botUserId}>`;
  const content = p.mentionBot === true && !p.content.includes(botMention) ? `${botMention} ${p.content}` : p.content;
  const target = p.referenceId !== undefined ? state.message(p.referenceId) : undefined;
  const mentionIds = mentionedUsers({}, content);
  if (target && !mentionIds.includes(target.authorId)) mentionIds.push(target.authorId);
  const message = state.addMessage({
    channelId: place.channel.id,
    authorId: place.userId,
    content,
    embeds: [],
    components: [],
    attachments: (p.attachments ?? []).map((a) => state.declaredAttachment(place.channel.id, a)),
    ...(target ? { messageReference: { message_id: target.id, channel_id: target.channelId, ...(target.guildId ? { guild_id: target.guildId } : {}) } } : {}),
    nonce: state.snowflake(),
    flags: 0,
    type: target ? 19 : 0,
    mentionIds,
  });
  emitMessageCreate(gateway, state, message);
  return message;
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
