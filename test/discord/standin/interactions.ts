// Test-side builders for slash commands, message commands, button clicks and modal submits.
import { commandRef, dispatchInteraction, interactionEnvelope, resolvedAttachment, resolvePlace } from './interaction-base.js';
import type { WhereWho } from './interaction-base.js';
import type { World } from './message-ops.js';
import { apiMember, apiMessage, apiUser } from './payloads.js';
import { IDS } from './state.js';
import type { AttachmentSeed, MessageCommandInput, SlashCommandInput } from './types.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Fills type-11 option values with attachment ids and collects resolved users (type 6) and channels (type 7), as Discord does. */
function resolveOptions(options: unknown[], attachments: Obj[], resolved: { users: Obj; members: Obj; channels: Obj }, world: World, guildId: string | undefined): unknown[] {
  let next = 0;
  const walk = (list: unknown[]): unknown[] => list.map((raw) => {
    if (!isObj(raw)) return raw;
    const o = { ...raw };
    if (Array.isArray(o.options)) o.options = walk(o.options);
    if (o.type === 11) {
      const byName = attachments.find((a) => a.filename === o.value || a.id === o.value);
      const pick = byName ?? (o.value === undefined ? attachments[next] : undefined);
      if (pick) o.value = pick.id;
      next = Math.max(next, attachments.indexOf(pick ?? {}) + 1);
    }
    if (o.type === 7 && typeof o.value === 'string') {
      const channel = world.state.channels.get(o.value);
      // Discord sends a partial channel: id, name, type, permissions (and parent_id for threads).
      resolved.channels[o.value] = channel
        ? { id: channel.id, name: channel.name ?? 'channel', type: channel.type, permissions: '0', ...(channel.parentId ? { parent_id: channel.parentId } : {}) }
        : { id: o.value, name: 'unknown', type: 0, permissions: '0' };
    }
    if (o.type === 6 && typeof o.value === 'string') {
      resolved.users[o.value] = apiUser(world.state.user(o.value));
      const guild = guildId !== undefined ? world.state.guilds.get(guildId) : undefined;
      if (guild) resolved.members[o.value] = apiMember(world.state, guild, o.value, { withUser: false, permissions: '0' });
    }
    return o;
  });
  return walk(options);
}

export function slashCommand(world: World, p: SlashCommandInput): { id: string; token: string } {
  const place = resolvePlace(world.state, p);
  const { payload, rec } = interactionEnvelope(world, place, 2, p);
  const attachments = (p.attachments ?? []).map((a) => resolvedAttachment(world.state, place.channel.id, a));
  const resolved = { users: {} as Obj, members: {} as Obj, channels: {} as Obj };
  const options = resolveOptions(p.options ?? [], attachments, resolved, world, place.guild?.id);
  const res: Obj = {};
  if (attachments.length > 0) res.attachments = Object.fromEntries(attachments.map((a) => [a.id, a]));
  if (Object.keys(resolved.users).length > 0) res.users = resolved.users;
  if (Object.keys(resolved.members).length > 0) res.members = resolved.members;
  if (Object.keys(resolved.channels).length > 0) res.channels = resolved.channels;
  payload.data = {
    ...commandRef(world.state, p.name, 1, place.guild?.id),
    name: p.name,
    type: 1,
    options,
    ...(Object.keys(res).length > 0 ? { resolved: res } : {}),
  };
  rec.name = p.name;
  rec.responseMessageType = 20;
  dispatchInteraction(world, payload, rec);
  return { id: rec.id, token: rec.token };
}

export function messageCommand(world: World, p: MessageCommandInput): { id: string; token: string; targetId: string } {
  const { state } = world;
  const place = resolvePlace(state, { ...p, channelId: p.channelId ?? p.target.channelId });
  const { payload, rec } = interactionEnvelope(world, place, 2, p);
  const existing = p.target.id !== undefined ? state.messages.get(p.target.id) : undefined;
  const target = existing && !existing.deleted ? existing : state.addMessage({
    id: p.target.id,
    channelId: place.channel.id,
    authorId: p.target.authorId ?? IDS.alice,
    content: p.target.content ?? '',
    embeds: [],
    components: [],
    attachments: (p.target.attachments ?? []).map((a: AttachmentSeed) => state.declaredAttachment(place.channel.id, a)),
    type: 0,
    mentionIds: [],
    flags: 0,
  });
  payload.data = {
    ...commandRef(state, p.name, 3, place.guild?.id),
    name: p.name,
    type: 3,
    target_id: target.id,
    resolved: { messages: { [target.id]: apiMessage(state, target) } },
  };
  rec.name = p.name;
  rec.responseMessageType = 23;
  dispatchInteraction(world, payload, rec);
  return { id: rec.id, token: rec.token, targetId: target.id };
}

function findComponent(components: unknown, customId: string): Obj | undefined {
  if (!Array.isArray(components)) return undefined;
  for (const c of components) {
    if (!isObj(c)) continue;
    if (c.custom_id === customId) return c;
    const inner = findComponent(c.components, customId) ?? (isObj(c.accessory) ? findComponent([c.accessory], customId) : undefined);
    if (inner) return inner;
  }
  return undefined;
}

export function clickButton(world: World, p: { messageId: string; customId: string; userId?: string; permissions?: string }): { id: string; token: string } {
  const { state } = world;
  const message = state.message(p.messageId);
  const button = findComponent(message.components, p.customId);
  if (!button || button.type !== 2) throw new Error(`Discord stand-in: message ${p.messageId} has no button with custom_id '${p.customId}'`);
  if (button.disabled === true) throw new Error(`Discord stand-in: button '${p.customId}' is disabled and cannot be clicked`);
  const place = resolvePlace(state, { userId: p.userId, channelId: message.channelId, ...(message.guildId === undefined ? { guildId: null } : {}) });
  const { payload, rec } = interactionEnvelope(world, place, 3, p);
  payload.message = apiMessage(state, message);
  payload.data = { custom_id: p.customId, component_type: 2 };
  rec.sourceMessageId = message.id;
  dispatchInteraction(world, payload, rec);
  return { id: rec.id, token: rec.token };
}

/**
 * Mirrors the shown modal's layout (action rows or labels) with the submitted values: a text input's
 * `value`, a string select's `values` (its default options when the field is not given).
 */
function modalComponents(shown: Obj, fields: Record<string, string | string[]>): unknown[] {
  const known = new Set<string>();
  const input = (c: Obj): Obj => {
    const customId = String(c.custom_id);
    known.add(customId);
    const given = fields[customId];
    if (c.type === 3) {
      const options = (Array.isArray(c.options) ? c.options : []).filter(isObj);
      const values = given === undefined ? options.filter((o) => o.default === true).map((o) => String(o.value)) : [given].flat();
      const unknownValue = values.find((v) => !options.some((o) => o.value === v));
      if (unknownValue !== undefined) throw new Error(`Discord stand-in: the select '${customId}' has no option '${unknownValue}'`);
      return { type: 3, custom_id: customId, values };
    }
    if (Array.isArray(given)) throw new Error(`Discord stand-in: '${customId}' is a text input; give it one string`);
    return { type: c.type ?? 4, custom_id: customId, value: given ?? '' };
  };
  const out = (Array.isArray(shown.components) ? shown.components : []).filter(isObj).map((c) => {
    if (c.type === 18 && isObj(c.component)) return { type: 18, component: input(c.component) };
    const inner = (Array.isArray(c.components) ? c.components : []).filter(isObj).map(input);
    return { type: 1, components: inner };
  });
  const unknown = Object.keys(fields).filter((k) => !known.has(k));
  if (unknown.length > 0) throw new Error(`Discord stand-in: the modal has no inputs ${unknown.join(', ')}`);
  return out;
}

export function submitModal(world: World, p: WhereWho & { customId: string; fields: Record<string, string | string[]> }): { id: string; token: string } {
  const { state } = world;
  const shown = [...state.interactionResponses.entries()].reverse().find(([, r]) => r.type === 9 && isObj(r.data) && r.data.custom_id === p.customId);
  if (!shown) throw new Error(`Discord stand-in: no modal with custom_id '${p.customId}' was shown (showModal first)`);
  const [shownId, response] = shown;
  const opener = state.interactions.get(shownId);
  const source = opener?.sourceMessageId !== undefined ? state.messages.get(opener.sourceMessageId) : undefined;
  const where: WhereWho = opener && p.channelId === undefined && p.guildId === undefined
    ? { ...p, channelId: opener.channelId, ...(opener.guildId === undefined ? { guildId: null } : {}) }
    : p;
  const place = resolvePlace(state, where);
  const { payload, rec } = interactionEnvelope(world, place, 5, p);
  payload.data = { custom_id: p.customId, components: modalComponents(response.data as Obj, p.fields) };
  if (source && !source.deleted) {
    payload.message = apiMessage(state, source);
    rec.sourceMessageId = source.id;
  }
  dispatchInteraction(world, payload, rec);
  return { id: rec.id, token: rec.token };
}
