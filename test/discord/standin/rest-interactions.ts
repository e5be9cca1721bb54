// Interaction callbacks and the interaction-token webhook routes (follow-ups, @original).
import { fail, invalidForm } from './errors.js';
import { createMessage, editMessage, FLAG } from './message-ops.js';
import { apiMessage } from './payloads.js';
import { deleteMessageRecord } from './rest-messages.js';
import { json, noContent } from './router.js';
import type { RestContext, RestReply, Route } from './router.js';
import type { InteractionRecord, MessageRecord } from './state.js';

type Obj = Record<string, unknown>;

/** Callback types each interaction type accepts (6/7 need a source message). */
const ALLOWED: Record<number, number[]> = { 2: [4, 5, 9], 3: [4, 5, 6, 7, 9], 4: [8], 5: [4, 5, 6, 7] };

function interactionFor(ctx: RestContext): InteractionRecord {
  const rec = ctx.state.interactions.get(ctx.params.interactionId ?? '');
  if (!rec || rec.token !== ctx.params.token) throw fail.unknownInteraction();
  if (rec.acknowledged) throw fail.alreadyAcknowledged();
  if (Date.now() - rec.createdAt > ctx.state.ackTimeoutMs) throw fail.unknownInteraction();
  return rec;
}

function responseMessage(ctx: RestContext, rec: InteractionRecord, body: Obj, placeholder: boolean): MessageRecord {
  const channel = ctx.state.channel(rec.channelId);
  const flags = typeof body.flags === 'number' ? body.flags : 0;
  return createMessage(ctx, {
    channel,
    authorId: ctx.state.botUserId,
    body: placeholder ? { flags: flags & FLAG.ephemeral } : body,
    files: placeholder ? [] : ctx.files,
    uploadLimit: rec.attachmentSizeLimit,
    type: rec.responseMessageType,
    viaInteraction: rec.id,
    interaction: { id: rec.id, type: rec.type, userId: rec.userId, name: rec.name, owners: rec.owners },
    webhookId: ctx.state.applicationId,
    ...(placeholder ? { extraFlags: FLAG.loading, placeholder: true } : {}),
  }).message;
}

function checkModal(data: Obj): void {
  const problems = [];
  if (typeof data.custom_id !== 'string' || data.custom_id.length > 100) problems.push({ path: 'data.custom_id', code: 'BASE_TYPE_REQUIRED', message: 'This field is required' });
  if (typeof data.title !== 'string' || data.title.length < 1 || data.title.length > 45) problems.push({ path: 'data.title', code: 'BASE_TYPE_BAD_LENGTH', message: 'Must be between 1 and 45 in length.' });
  if (!Array.isArray(data.components) || data.components.length < 1 || data.components.length > 5) problems.push({ path: 'data.components', code: 'BASE_TYPE_BAD_LENGTH', message: 'Must be between 1 and 5 in length.' });
  if (problems.length > 0) throw invalidForm(problems);
}

function callback(ctx: RestContext): RestReply {
  const rec = interactionFor(ctx);
  const type = ctx.body.type;
  const data = (typeof ctx.body.data === 'object' && ctx.body.data !== null ? ctx.body.data : {}) as Obj;
  const allowed = ALLOWED[rec.type] ?? [];
  const needsSource = type === 6 || type === 7;
  if (typeof type !== 'number' || !allowed.includes(type) || (needsSource && rec.sourceMessageId === undefined)) {
    throw invalidForm([{ path: 'type', code: 'INTERACTION_RESPONSE_TYPE_INVALID', message: 'Invalid interaction response type' }]);
  }
  let message: MessageRecord | undefined;
  if (type === 4 || type === 5) {
    message = responseMessage(ctx, rec, data, type === 5);
  } else if (needsSource) {
    message = ctx.state.message(rec.sourceMessageId ?? '');
    if (type === 7) {
      if (message.authorId !== ctx.state.botUserId) throw fail.cannotEditOthers();
      editMessage(ctx, message, data, ctx.files, rec.attachmentSizeLimit);
    }
  } else if (type === 9) {
    checkModal(data);
  }
  rec.acknowledged = true;
  rec.originalMessageId = message?.id;
  ctx.state.interactionResponses.set(rec.id, { type, data: ctx.body.data, at: Date.now(), ...(message ? { messageId: message.id } : {}) });
  if (ctx.query.with_response !== 'true') return noContent();
  const flags = message?.flags ?? 0;
  return json({
    interaction: {
      id: rec.id,
      type: rec.type,
      activity_instance_id: null,
      ...(message ? {
        response_message_id: message.id,
        response_message_loading: (flags & FLAG.loading) !== 0,
        response_message_ephemeral: (flags & FLAG.ephemeral) !== 0,
      } : {}),
      channel_id: rec.channelId,
      ...(rec.guildId !== undefined ? { guild_id: rec.guildId } : {}),
    },
    ...(message && type !== 6 ? { resource: { type, message: apiMessage(ctx.state, message) } } : {}),
  });
}

/** The interaction behind /webhooks/{app}/{token}; 404 10015 when unknown, 401 50027 once the token expired (15 minutes, `webhookTokenTtlMs`). */
function webhookInteraction(ctx: RestContext): InteractionRecord {
  const rec = ctx.state.interactionsByToken.get(ctx.params.token ?? '');
  if (!rec || ctx.params.app !== ctx.state.applicationId) throw fail.unknownWebhook();
  if (Date.now() - rec.createdAt > ctx.state.webhookTokenTtlMs) throw fail.invalidWebhookToken();
  return rec;
}

function followUp(ctx: RestContext): RestReply {
  const rec = webhookInteraction(ctx);
  if (!rec.acknowledged) throw fail.unknownWebhook();
  const original = rec.originalMessageId !== undefined ? ctx.state.messages.get(rec.originalMessageId) : undefined;
  // Discord: the first follow-up after a deferred (loading) response replaces the loading message.
  if (original && !original.deleted && ((original.flags ?? 0) & FLAG.loading) !== 0) {
    editMessage(ctx, original, ctx.body, ctx.files, rec.attachmentSizeLimit);
    return json(apiMessage(ctx.state, original));
  }
  const { message } = createMessage(ctx, {
    channel: ctx.state.channel(rec.channelId),
    authorId: ctx.state.botUserId,
    body: ctx.body,
    files: ctx.files,
    uploadLimit: rec.attachmentSizeLimit,
    type: 0,
    viaInteraction: rec.id,
    interaction: { id: rec.id, type: rec.type, userId: rec.userId, name: rec.name, owners: rec.owners },
    webhookId: ctx.state.applicationId,
  });
  return json(apiMessage(ctx.state, message));
}

function webhookMessage(ctx: RestContext): { rec: InteractionRecord; message: MessageRecord } {
  const rec = webhookInteraction(ctx);
  const wanted = ctx.params.messageId === '@original' ? rec.originalMessageId : ctx.params.messageId;
  if (wanted === undefined) throw fail.unknownMessage();
  const message = ctx.state.message(wanted);
  const reachable = message.viaInteraction === rec.id || message.id === rec.originalMessageId || message.webhookId === ctx.state.applicationId;
  if (!reachable) throw fail.unknownMessage();
  return { rec, message };
}

export function interactionRoutes(): Route[] {
  const msg = '/webhooks/:app/:token/messages/:messageId';
  return [
    { method: 'POST', pattern: '/interactions/:interactionId/:token/callback', auth: false, handler: callback },
    { method: 'POST', pattern: '/webhooks/:app/:token', auth: false, handler: followUp },
    { method: 'GET', pattern: msg, auth: false, handler: (ctx) => json(apiMessage(ctx.state, webhookMessage(ctx).message)) },
    {
      method: 'PATCH', pattern: msg, auth: false,
      handler: (ctx) => {
        const { rec, message } = webhookMessage(ctx);
        editMessage(ctx, message, ctx.body, ctx.files, rec.attachmentSizeLimit);
        return json(apiMessage(ctx.state, message));
      },
    },
    {
      method: 'DELETE', pattern: msg, auth: false,
      handler: (ctx) => {
        deleteMessageRecord(ctx, webhookMessage(ctx).message);
        return noContent();
      },
    },
  ];
}
