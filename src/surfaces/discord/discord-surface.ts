/**
 * Discord as a ChatSurface, over the bot's REST client (bot token, not
 * interaction tokens), so progress and delivery work for jobs of any length and
 * after restarts.
 */
import { readFile } from 'node:fs/promises';
import type { REST } from '@discordjs/rest';
import { DiscordAPIError, Routes } from 'discord.js';
import type Keyv from 'keyv';
import type { ChatSurface, SurfaceMessage } from '../../core/ports.js';
import { SurfaceGoneError, SurfaceTooLargeError } from '../../core/ports.js';
import { renderMessage } from './discord-format.js';
import { DISCORD, dmRef, messageRef, parseRef } from './discord-refs.js';

const MiB = 1024 * 1024;
/** Upload limit by server boost tier (Discord, since January 2025). */
export const TIER_LIMITS = [10 * MiB, 10 * MiB, 50 * MiB, 100 * MiB];

/** Unknown Channel/Message, Missing Access/Permissions, Cannot send to this user. */
const GONE_CODES = new Set([10003, 10008, 50001, 50013, 50007]);

function mapError(err: unknown): unknown {
  if (err instanceof DiscordAPIError) {
    if (err.status === 413 || err.code === 40005) return new SurfaceTooLargeError(err.message, { cause: err });
    if (GONE_CODES.has(Number(err.code)) || err.status === 404) return new SurfaceGoneError(err.message, { cause: err });
  }
  return err;
}

export interface DiscordSurfaceOptions {
  rest: REST;
  kv: Keyv;
  progressIntervalMs: number;
  allowDms: boolean;
  /** Premium tier of a guild the client knows, for the upload limit. */
  guildTier(guildId: string): number | undefined;
}

/** Which job a bot message belongs to (for replies and buttons). */
export function jobOfMessage(kv: Keyv, messageId: string): Promise<string | undefined> {
  return kv.get<string>(`discord:msgjob:${messageId}`);
}

export function createDiscordSurface(o: DiscordSurfaceOptions): ChatSurface {
  const dmChannels = new Map<string, string>();

  async function resolveChannel(conversation: string): Promise<{ channelId: string; replyTo?: string }> {
    const ref = parseRef(conversation);
    if (ref.dmUserId) {
      let id = dmChannels.get(ref.dmUserId);
      if (!id) {
        const dm = (await o.rest.post(Routes.userChannels(), { body: { recipient_id: ref.dmUserId } })) as { id: string };
        id = dm.id;
        dmChannels.set(ref.dmUserId, id);
      }
      return { channelId: id };
    }
    return { channelId: ref.channelId!, ...(ref.messageId ? { replyTo: ref.messageId } : {}) };
  }

  const reference = (replyTo?: string) => (replyTo ? { message_reference: { message_id: replyTo, fail_if_not_exists: false } } : {});
  const remember = (messageId: string, jobId: string) => o.kv.set(`discord:msgjob:${messageId}`, jobId, 90 * 86_400_000);

  async function send(conversation: string, message: SurfaceMessage, files?: { name: string; data: Buffer }[], nonce?: string): Promise<string> {
    try {
      const { channelId, replyTo } = await resolveChannel(conversation);
      const body = { ...renderMessage(message), ...reference(replyTo), ...(nonce ? { nonce, enforce_nonce: true } : {}) };
      const sent = (await o.rest.post(Routes.channelMessages(channelId), { body, ...(files ? { files } : {}) })) as { id: string };
      if (message.kind !== 'progress') await remember(sent.id, message.job.id);
      return messageRef(channelId, sent.id);
    } catch (err) {
      throw mapError(err);
    }
  }

  return {
    kind: DISCORD,
    progressIntervalMs: o.progressIntervalMs,
    // Discord allows 50 requests/s per bot; keep progress edits well under that.
    maxEditsPerSecond: 5,
    post: (conversation, message) => send(conversation, message),
    async edit(ref, message) {
      const { channelId, messageId } = parseRef(ref);
      try {
        await o.rest.patch(Routes.channelMessage(channelId!, messageId!), { body: renderMessage(message) });
      } catch (err) {
        throw mapError(err);
      }
    },
    async maxUploadBytes(_conversation, meta) {
      const declared = Number(meta.uploadLimit);
      if (Number.isFinite(declared) && declared > 0) return declared;
      const tier = meta.guildId ? o.guildTier(meta.guildId) : undefined;
      return TIER_LIMITS[tier ?? 0] ?? TIER_LIMITS[0]!;
    },
    async upload(conversation, file, message, { idempotencyKey }) {
      const data = await readFile(file.path);
      // Discord drops a second message with the same nonce (enforce_nonce), so a retry after a crash can't double-post.
      const nonce = idempotencyKey.replace(/-/g, '').slice(0, 25);
      return send(conversation, message, [{ name: file.name, data }], nonce);
    },
    // A deleted progress message is harmless (replies use fail_if_not_exists: false); a gone channel means a DM.
    async fallbackConversation(requesterId, conversation) {
      if (!o.allowDms || conversation.startsWith(`${DISCORD}:dm:`)) return undefined;
      return dmRef(requesterId);
    },
  };
}
