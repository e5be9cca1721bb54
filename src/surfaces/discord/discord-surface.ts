/**
 * Discord as a ChatSurface, over the bot's REST client (bot token, not
 * interaction tokens), so progress and delivery work for jobs of any length and
 * after restarts.
 *
 * Where the bot is not in the channel (a user install in a server that didn't
 * add the bot, a group DM), the conversation is the interaction's webhook
 * (`discord:hook:…`, see discord-refs.ts): progress edits the response
 * (PATCH /webhooks/{app}/{token}/messages/@original) and results are follow-ups
 * (POST /webhooks/{app}/{token}), without the bot token. That only works for the
 * token's 15 minutes; afterwards (by the clock, or when Discord answers 401
 * 50027) results go to the requester's DM with a line saying why.
 *
 * Idempotency: channel and DM uploads carry a nonce Discord enforces. Follow-ups
 * can't, so the attempt is recorded (kv) before the POST and the follow-up's id
 * after it; a retry that finds the id posts nothing again. The gap: when the bot
 * dies (or loses Discord's answer) between the POST and storing its id, the
 * retry cannot ask Discord whether the follow-up exists (webhook messages can
 * only be fetched by id) and posts again, so a second copy is possible then
 * (logged as a warning).
 */
import { readFile } from 'node:fs/promises';
import type { REST } from '@discordjs/rest';
import { DiscordAPIError, Routes } from 'discord.js';
import type Keyv from 'keyv';
import type { Logger } from '../../core/logger.js';
import type { ChatSurface, SurfaceMessage } from '../../core/ports.js';
import { SurfaceGoneError, SurfaceTooLargeError } from '../../core/ports.js';
import { renderMessage } from './discord-format.js';
import type { HookRef } from './discord-refs.js';
import { DISCORD, dmRef, hookRef, isHookRef, messageRef, parseRef } from './discord-refs.js';

const MiB = 1024 * 1024;
const DAY_MS = 86_400_000;
/** Upload limit by server boost tier (Discord, since January 2025). */
export const TIER_LIMITS = [10 * MiB, 10 * MiB, 50 * MiB, 100 * MiB];
/** How long Discord accepts an interaction's token for follow-ups and edits. */
export const INTERACTION_TOKEN_TTL_MS = 15 * 60_000;

/** Unknown Channel/Message, Missing Access/Permissions, Cannot send to this user. */
const GONE_CODES = new Set([10003, 10008, 50001, 50013, 50007]);
/** Unknown Webhook, Invalid Webhook Token: the interaction's token no longer works. */
const TOKEN_CODES = new Set([10015, 50027]);

/** Under progress shown through an interaction's webhook (with DMs on). */
export const DM_LATER_NOTE = "-# If this takes more than 15 minutes, the video comes to you by DM (Discord's limit here).";
/** Said above a result that comes by DM because its interaction token expired. */
export const EXPIRED_NOTE =
  'ℹ️ Discord only lets me post in that conversation for 15 minutes after you ask, and this took longer, so here it is by DM.';

function mapError(err: unknown): unknown {
  if (err instanceof DiscordAPIError) {
    if (err.status === 413 || err.code === 40005) return new SurfaceTooLargeError(err.message, { cause: err });
    if (GONE_CODES.has(Number(err.code)) || err.status === 404) return new SurfaceGoneError(err.message, { cause: err });
  }
  return err;
}

const tokenGone = (err: unknown) => err instanceof DiscordAPIError && (TOKEN_CODES.has(Number(err.code)) || err.status === 401);

export interface DiscordSurfaceOptions {
  rest: REST;
  kv: Keyv;
  progressIntervalMs: number;
  allowDms: boolean;
  /** Premium tier of a guild, for the upload limit (see discord-guild-tier.ts); undefined: the smallest limit. */
  guildTier(guildId: string): number | undefined | Promise<number | undefined>;
  /** How long interaction tokens last (DISCORD_INTERACTION_TOKEN_TTL_S); sets how early uploads stop using one. */
  interactionTokenTtlMs?: number;
  now?: () => number;
  logger?: Logger;
}

/** Which job a bot message belongs to (for replies and buttons). */
export function jobOfMessage(kv: Keyv, messageId: string): Promise<string | undefined> {
  return kv.get<string>(`discord:msgjob:${messageId}`);
}

/** What is known of a follow-up posted for an idempotency key: being sent since, or its id. */
type HookSent = { sendingAt?: number; id?: string };

export function createDiscordSurface(o: DiscordSurfaceOptions): ChatSurface {
  const dmChannels = new Map<string, string>();
  const now = o.now ?? Date.now;
  // An upload is not started on a token about to expire (it could run out mid-way): up to 30 s early.
  const uploadMargin = Math.min(30_000, (o.interactionTokenTtlMs ?? INTERACTION_TOKEN_TTL_MS) / 10);
  const expired = (h: HookRef, margin = 0) => now() >= h.expiresAt - margin;

  async function resolveChannel(conversation: string): Promise<{ channelId: string; replyTo?: string; note?: string }> {
    const ref = parseRef(conversation);
    if (ref.dmUserId) {
      let id = dmChannels.get(ref.dmUserId);
      if (!id) {
        const dm = (await o.rest.post(Routes.userChannels(), { body: { recipient_id: ref.dmUserId } })) as { id: string };
        id = dm.id;
        dmChannels.set(ref.dmUserId, id);
      }
      return { channelId: id, ...(ref.dmReason === 'expired' ? { note: EXPIRED_NOTE } : {}) };
    }
    return { channelId: ref.channelId!, ...(ref.messageId ? { replyTo: ref.messageId } : {}) };
  }

  const reference = (replyTo?: string) => (replyTo ? { message_reference: { message_id: replyTo, fail_if_not_exists: false } } : {});
  const remember = (messageId: string, jobId: string) => o.kv.set(`discord:msgjob:${messageId}`, jobId, 90 * DAY_MS);
  // Discord drops a second message with the same nonce (enforce_nonce), so a retry after a crash can't double-post.
  const nonceOf = (idempotencyKey: string) => idempotencyKey.replace(/-/g, '').slice(0, 25);

  async function send(conversation: string, message: SurfaceMessage, files?: { name: string; data: Buffer }[], idempotencyKey?: string): Promise<string> {
    const hook = parseRef(conversation).hook;
    if (hook) return sendHook(hook, message, files, idempotencyKey);
    try {
      const { channelId, replyTo, note } = await resolveChannel(conversation);
      const rendered = renderMessage(message);
      // Channel posts keep their old behaviour (a nonce on uploads only); a DM for an expired token dedupes both.
      const nonce = idempotencyKey && (files || note) ? nonceOf(idempotencyKey) : undefined;
      const body = {
        ...rendered,
        ...(note ? { content: `${note}\n${rendered.content}` } : {}),
        ...reference(replyTo),
        ...(nonce ? { nonce, enforce_nonce: true } : {}),
      };
      const sent = (await o.rest.post(Routes.channelMessages(channelId), { body, ...(files ? { files } : {}) })) as { id: string };
      if (message.kind !== 'progress') await remember(sent.id, message.job.id);
      return messageRef(channelId, sent.id);
    } catch (err) {
      throw mapError(err);
    }
  }

  /** Once the interaction token is no longer usable: the requester's DM, saying why. */
  function viaDm(h: HookRef, message: SurfaceMessage, files?: { name: string; data: Buffer }[], idempotencyKey?: string): Promise<string> {
    if (!o.allowDms) throw new SurfaceGoneError('the interaction token has expired (and DMs are off)');
    o.logger?.info({ jobId: message.job.id, kind: message.kind }, 'the interaction token has expired; sending to the requester by DM');
    return send(dmRef(h.userId, 'expired'), message, files, idempotencyKey);
  }

  /** A follow-up on the interaction's webhook (see the idempotency note at the top). */
  async function sendHook(h: HookRef, message: SurfaceMessage, files?: { name: string; data: Buffer }[], idempotencyKey?: string): Promise<string> {
    if (expired(h, files ? uploadMargin : 0)) return viaDm(h, message, files, idempotencyKey);
    const mark = idempotencyKey ? `discord:hooksent:${idempotencyKey}` : undefined;
    if (mark) {
      const prior = await o.kv.get<HookSent>(mark);
      // Posted before (a retry after a crash or a lost "done"): not again.
      if (prior?.id) return hookRef({ ...h, messageId: prior.id });
      if (prior?.sendingAt) o.logger?.warn({ jobId: idempotencyKey }, 'an earlier follow-up may have reached Discord without its answer; posting it again');
      await o.kv.set(mark, { sendingAt: now() } satisfies HookSent, DAY_MS);
    }
    try {
      const sent = (await o.rest.post(Routes.webhook(h.appId, h.token), {
        body: renderMessage(message),
        ...(files ? { files } : {}),
        auth: false,
        query: new URLSearchParams({ wait: 'true' }),
      })) as { id: string };
      // Posted: a failure to note it now must not make the caller post it again.
      const note = (write: Promise<unknown>) => write.catch((err: unknown) => o.logger?.warn({ jobId: message.job.id, err }, 'could not record a posted follow-up'));
      if (mark) await note(o.kv.set(mark, { id: sent.id } satisfies HookSent, DAY_MS));
      if (message.kind !== 'progress') await note(remember(sent.id, message.job.id));
      return hookRef({ ...h, messageId: sent.id });
    } catch (err) {
      // Discord answered with an error: nothing was posted.
      if (mark && err instanceof DiscordAPIError) await o.kv.delete(mark).catch(() => undefined);
      if (tokenGone(err)) return viaDm(h, message, files, idempotencyKey);
      throw mapError(err);
    }
  }

  return {
    kind: DISCORD,
    progressIntervalMs: o.progressIntervalMs,
    // Discord allows 50 requests/s per bot; keep progress edits well under that.
    maxEditsPerSecond: 5,
    post: (conversation, message, opts) => send(conversation, message, undefined, opts?.idempotencyKey),
    async edit(ref, message) {
      const { channelId, messageId, hook } = parseRef(ref);
      if (hook) {
        if (!hook.messageId || expired(hook)) throw new SurfaceGoneError('the interaction token has expired');
        const body = renderMessage(message);
        if (message.kind === 'progress' && o.allowDms) body.content = `${body.content}\n${DM_LATER_NOTE}`;
        try {
          await o.rest.patch(Routes.webhookMessage(hook.appId, hook.token, hook.messageId), { body, auth: false });
        } catch (err) {
          throw tokenGone(err) ? new SurfaceGoneError('the interaction token has expired', { cause: err }) : mapError(err);
        }
        return;
      }
      try {
        await o.rest.patch(Routes.channelMessage(channelId!, messageId!), { body: renderMessage(message) });
      } catch (err) {
        throw mapError(err);
      }
    },
    async maxUploadBytes(_conversation, meta) {
      const declared = Number(meta.uploadLimit);
      if (Number.isFinite(declared) && declared > 0) return declared;
      const tier = meta.guildId ? await o.guildTier(meta.guildId) : undefined;
      return TIER_LIMITS[tier ?? 0] ?? TIER_LIMITS[0]!;
    },
    async upload(conversation, file, message, { idempotencyKey }) {
      const data = await readFile(file.path);
      return send(conversation, message, [{ name: file.name, data }], idempotencyKey);
    },
    // A deleted progress message is harmless (replies use fail_if_not_exists: false); a gone channel means a DM.
    async fallbackConversation(requesterId, conversation) {
      if (!o.allowDms || conversation.startsWith(`${DISCORD}:dm:`)) return undefined;
      // The webhook itself is gone (its token expired): say so in the DM.
      if (isHookRef(conversation)) return dmRef(requesterId, expired(parseRef(conversation).hook!) ? 'expired' : undefined);
      return dmRef(requesterId);
    },
  };
}
