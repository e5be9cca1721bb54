// Creating and editing messages from request bodies, shared by channel, interaction and webhook routes.
import { extname } from 'node:path';
import { fail, invalidForm } from './errors.js';
import type { Gateway } from './gateway.js';
import { emitMessageCreate, emitMessageUpdate } from './gateway-events.js';
import { fileIndex } from './multipart.js';
import type { UploadedFile } from './multipart.js';
import type { ChannelRecord, MessageInteractionInfo, MessageRecord, StandinState } from './state.js';
import type { StandinAttachment } from './types.js';
import { mentionedUsers, validateMessageBody } from './validation.js';

export interface World {
  state: StandinState;
  gateway: Gateway;
}

type Obj = Record<string, unknown>;

export const FLAG = { suppressEmbeds: 4, ephemeral: 64, loading: 128, suppressNotifications: 4096, componentsV2: 1 << 15 } as const;
const SETTABLE_FLAGS = FLAG.suppressEmbeds | FLAG.ephemeral | FLAG.suppressNotifications | FLAG.componentsV2;
const NONCE_WINDOW_MS = 5 * 60 * 1000;

const MIME: Record<string, string> = {
  '.mp4': 'video/mp4', '.webm': 'video/webm', '.mov': 'video/quicktime', '.gif': 'image/gif', '.png': 'image/png',
  '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.webp': 'image/webp', '.txt': 'text/plain; charset=utf-8', '.json': 'application/json',
};

function attachmentMeta(body: Obj, index: number): Obj {
  const list = Array.isArray(body.attachments) ? body.attachments : [];
  const hit = list.find((a): a is Obj => typeof a === 'object' && a !== null && String((a as Obj).id) === String(index));
  return hit ?? {};
}

/** Turns uploaded files into attachments, enforcing the per-file upload limit (413 40005). */
export function uploadAttachments(state: StandinState, channelId: string, body: Obj, files: UploadedFile[], limit: number): StandinAttachment[] {
  return files.map((file, position) => {
    if (file.data.length > limit) throw fail.tooLarge();
    const index = fileIndex(file.field);
    const meta = attachmentMeta(body, index < 0 ? position : index);
    const filename = typeof meta.filename === 'string' ? meta.filename : file.filename;
    const id = state.snowflake();
    return {
      id,
      filename,
      size: file.data.length,
      // Discord derives the type from the file name when it knows the extension.
      contentType: MIME[extname(filename).toLowerCase()] ?? file.contentType,
      data: file.data,
      url: state.attachmentUrl(channelId, id, filename),
      ...(typeof meta.description === 'string' ? { description: meta.description } : {}),
    };
  });
}

const arrayOr = (v: unknown, fallback: unknown[]): unknown[] => (Array.isArray(v) ? v : v === null ? [] : fallback);

export interface CreateMessageInput {
  channel: ChannelRecord;
  authorId: string;
  body: Obj;
  files: UploadedFile[];
  uploadLimit: number;
  type?: number;
  viaInteraction?: string;
  interaction?: MessageInteractionInfo;
  webhookId?: string;
  /** Flags forced by the stand-in (e.g. LOADING for a deferred response). */
  extraFlags?: number;
  /** Skip the "empty message" check (deferred placeholders). */
  placeholder?: boolean;
}

/** Creates a message, honouring nonce dedupe and message_reference; emits MESSAGE_CREATE. Returns `created: false` for a deduped nonce. */
export function createMessage(world: World, input: CreateMessageInput): { message: MessageRecord; created: boolean } {
  const { state } = world;
  const { channel, body } = input;
  const fileCount = input.files.length;
  validateMessageBody(body, { attachmentCount: fileCount, requireSomething: input.placeholder !== true });
  const nonce = typeof body.nonce === 'string' || typeof body.nonce === 'number' ? body.nonce : undefined;
  if (nonce !== undefined && body.enforce_nonce === true) {
    const since = Date.now() - NONCE_WINDOW_MS;
    for (const m of state.messages.values()) {
      if (m.channelId === channel.id && m.authorId === input.authorId && m.nonce === nonce && m.createdAt >= since && !m.deleted) {
        return { message: m, created: false };
      }
    }
  }
  const reference = resolveReference(state, channel, body.message_reference);
  const attachments = uploadAttachments(state, channel.id, body, input.files, input.uploadLimit);
  const content = typeof body.content === 'string' ? body.content : '';
  const mentionIds = mentionedUsers(body, content);
  const allowed = body.allowed_mentions as Obj | undefined;
  if (reference && (allowed?.replied_user ?? true) !== false) {
    const author = state.messages.get(reference.message_id)?.authorId;
    if (author && !mentionIds.includes(author)) mentionIds.push(author);
  }
  const flags = ((typeof body.flags === 'number' ? body.flags : 0) & SETTABLE_FLAGS) | (input.extraFlags ?? 0);
  const message = state.addMessage({
    channelId: channel.id,
    authorId: input.authorId,
    content,
    embeds: arrayOr(body.embeds, []),
    components: arrayOr(body.components, []),
    attachments,
    ...(reference ? { messageReference: reference } : {}),
    ...(nonce !== undefined ? { nonce } : {}),
    flags,
    type: input.type ?? (reference ? 19 : 0),
    mentionIds,
    viaInteraction: input.viaInteraction,
    interaction: input.interaction,
    webhookId: input.webhookId,
  });
  emitMessageCreate(world.gateway, state, message);
  return { message, created: true };
}

function resolveReference(state: StandinState, channel: ChannelRecord, raw: unknown): MessageRecord['messageReference'] {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const ref = raw as Obj;
  const messageId = typeof ref.message_id === 'string' ? ref.message_id : undefined;
  if (messageId === undefined) return undefined;
  const channelId = typeof ref.channel_id === 'string' ? ref.channel_id : channel.id;
  const target = state.messages.get(messageId);
  if (!target || target.deleted || target.channelId !== channelId) {
    if (ref.fail_if_not_exists === false) return undefined;
    throw invalidForm([{ path: 'message_reference', code: 'MESSAGE_REFERENCE_UNKNOWN_MESSAGE', message: 'Unknown message' }]);
  }
  return {
    message_id: messageId,
    channel_id: channelId,
    ...(target.guildId !== undefined ? { guild_id: target.guildId } : {}),
    ...(typeof ref.fail_if_not_exists === 'boolean' ? { fail_if_not_exists: ref.fail_if_not_exists } : {}),
  };
}

/** PATCH semantics: fields sent replace the stored ones; `attachments` lists the ones to keep. Emits MESSAGE_UPDATE. */
export function editMessage(world: World, m: MessageRecord, body: Obj, files: UploadedFile[], uploadLimit: number): MessageRecord {
  const { state } = world;
  validateMessageBody(body, { attachmentCount: 0, requireSomething: false });
  const added = uploadAttachments(state, m.channelId, body, files, uploadLimit);
  let attachments = m.attachments;
  if (Array.isArray(body.attachments)) {
    const keep = new Set(body.attachments.map((a) => String((a as Obj | null)?.id)));
    attachments = [...m.attachments.filter((a) => keep.has(a.id)), ...added];
  } else if (body.attachments === null) {
    attachments = added;
  } else if (added.length > 0) {
    attachments = [...m.attachments, ...added];
  }
  const next = {
    content: 'content' in body ? (typeof body.content === 'string' ? body.content : '') : m.content,
    embeds: 'embeds' in body ? arrayOr(body.embeds, []) : m.embeds,
    components: 'components' in body ? arrayOr(body.components, []) : m.components,
  };
  const loading = ((m.flags ?? 0) & FLAG.loading) !== 0;
  const empty = next.content.trim() === '' && next.embeds.length === 0 && next.components.length === 0 && attachments.length === 0;
  if (empty) throw fail.emptyMessage();
  Object.assign(m, next, { attachments });
  m.mentionIds = mentionedUsers(body, m.content);
  let flags = (m.flags ?? 0) & ~FLAG.loading;
  if (typeof body.flags === 'number') flags = (flags & ~FLAG.suppressEmbeds) | (body.flags & FLAG.suppressEmbeds);
  m.flags = flags;
  if (!loading) m.editedAt = new Date().toISOString();
  m.history.push({ at: Date.now(), ...next });
  emitMessageUpdate(world.gateway, state, m);
  return m;
}
