// Channel message routes: list, create, fetch, edit, delete, reactions.
import { ApiFailure, fail } from './errors.js';
import { emitMessageDelete } from './gateway-events.js';
import { createMessage, editMessage, FLAG } from './message-ops.js';
import { apiMessage } from './payloads.js';
import { json, noContent } from './router.js';
import type { RestContext, Route } from './router.js';
import type { MessageRecord } from './state.js';

const TEXT_TYPES = new Set([0, 1, 3, 5, 10, 11, 12, 15, 16]);

/** Ephemeral messages are invisible to channel routes. */
function visible(ctx: RestContext): MessageRecord {
  const channel = ctx.state.channel(ctx.params.channelId ?? '');
  const m = ctx.state.message(ctx.params.messageId ?? '', channel.id);
  if (((m.flags ?? 0) & FLAG.ephemeral) !== 0) throw fail.unknownMessage();
  return m;
}

function listMessages(ctx: RestContext): unknown[] {
  const channel = ctx.state.channel(ctx.params.channelId ?? '');
  const limit = Math.min(100, Math.max(1, Number(ctx.query.limit ?? 50) || 50));
  const before = ctx.query.before !== undefined ? BigInt(ctx.query.before) : undefined;
  const after = ctx.query.after !== undefined ? BigInt(ctx.query.after) : undefined;
  const all = [...ctx.state.messages.values()]
    .filter((m) => m.channelId === channel.id && !m.deleted && ((m.flags ?? 0) & FLAG.ephemeral) === 0)
    .filter((m) => (before === undefined || BigInt(m.id) < before) && (after === undefined || BigInt(m.id) > after))
    .sort((a, b) => (BigInt(b.id) > BigInt(a.id) ? 1 : -1));
  const page = after !== undefined ? all.slice(-limit) : all.slice(0, limit);
  return page.map((m) => apiMessage(ctx.state, m));
}

function postMessage(ctx: RestContext): ReturnType<typeof json> {
  const channel = ctx.state.channel(ctx.params.channelId ?? '');
  if (!TEXT_TYPES.has(channel.type)) throw new ApiFailure(400, 50008, 'Cannot send messages in a non-text channel');
  const { message } = createMessage(ctx, {
    channel,
    authorId: ctx.state.botUserId,
    body: ctx.body,
    files: ctx.files,
    uploadLimit: ctx.state.uploadLimit(channel),
  });
  return json(apiMessage(ctx.state, message));
}

function patchMessage(ctx: RestContext): ReturnType<typeof json> {
  const m = visible(ctx);
  if (m.authorId !== ctx.state.botUserId) throw fail.cannotEditOthers();
  const channel = ctx.state.channel(m.channelId);
  editMessage(ctx, m, ctx.body, ctx.files, ctx.state.uploadLimit(channel));
  return json(apiMessage(ctx.state, m));
}

export function deleteMessageRecord(ctx: Pick<RestContext, 'state' | 'gateway'>, m: MessageRecord): void {
  m.deleted = true;
  emitMessageDelete(ctx.gateway, ctx.state, m);
}

function react(ctx: RestContext, add: boolean): ReturnType<typeof noContent> {
  const m = visible(ctx);
  const emoji = ctx.params.emoji ?? '';
  if (add && !m.reactions.includes(emoji)) m.reactions.push(emoji);
  if (!add) m.reactions = m.reactions.filter((e) => e !== emoji);
  return noContent();
}

export function messageRoutes(): Route[] {
  const base = '/channels/:channelId/messages';
  return [
    { method: 'GET', pattern: base, auth: true, handler: (ctx) => json(listMessages(ctx)) },
    { method: 'POST', pattern: base, auth: true, handler: postMessage },
    { method: 'GET', pattern: `${base}/:messageId`, auth: true, handler: (ctx) => json(apiMessage(ctx.state, visible(ctx))) },
    { method: 'PATCH', pattern: `${base}/:messageId`, auth: true, handler: patchMessage },
    {
      method: 'DELETE', pattern: `${base}/:messageId`, auth: true,
      handler: (ctx) => {
        deleteMessageRecord(ctx, visible(ctx));
        return noContent();
      },
    },
    { method: 'PUT', pattern: `${base}/:messageId/reactions/:emoji/@me`, auth: true, handler: (ctx) => react(ctx, true) },
    { method: 'DELETE', pattern: `${base}/:messageId/reactions/:emoji/@me`, auth: true, handler: (ctx) => react(ctx, false) },
  ];
}
