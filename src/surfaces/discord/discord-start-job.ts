/**
 * Discord's side of starting a video: who is asking and where (as the use cases
 * need it), and how the first progress message is posted. Every rule (allowed
 * channels, limits, defaults, validation) is the use cases' (src/usecases/).
 */
import type { Interaction, Message } from 'discord.js';
import { PermissionFlagsBits, Routes } from 'discord.js';
import type { REST } from '@discordjs/rest';
import { UserFacingError, userMessageFor } from '../../core/errors.js';
import type { JobService } from '../../core/job-service.js';
import type { Logger } from '../../core/logger.js';
import type { GenerationInput } from '../../core/request.js';
import type { Actor, VideoUseCases, Where } from '../../usecases/video-use-cases.js';
import { quotePrompt } from '../common/format.js';
import { DISCORD, channelRef, hookRef, messageRef } from './discord-refs.js';

/** An interaction's webhook, for where the bot is not in the channel (see discord-reach.ts). */
export interface InteractionHook {
  appId: string;
  token: string;
  /** When the token stops working (ms since the epoch). */
  expiresAt: number;
}

export interface StartContext {
  input: GenerationInput;
  actor: Actor;
  where: Where;
  guildId: string | null;
  channelId: string;
  /** From the interaction, when there is one. */
  uploadLimit?: number;
  /**
   * Set when the bot can't use the channel API here: the first response is the progress
   * message and results are follow-ups on this webhook (no thread is opened).
   */
  hook?: InteractionHook;
  /** Posts the first progress message (as the interaction reply or a message reply). */
  respond(content: string): Promise<{ channelId: string; messageId: string }>;
  /** Tells the user why nothing was started (ephemeral where possible). */
  refuse(text: string): Promise<void>;
}

export interface StartDeps {
  service: JobService;
  useCases: VideoUseCases;
  rest: REST;
  logger: Logger;
  threadPerVideo: boolean;
  /** False while the bot shuts down: new requests are turned away (nothing is started). */
  accepting?: () => boolean;
}

export const RESTARTING = '⏳ The bot is restarting. Nothing was started; try again in a few seconds.';

/** The place key of a server (settings and daily limits are kept under it). */
export const guildPlace = (guildId: string) => ({ key: `${DISCORD}:guild:${guildId}`, label: 'this server' });

/** Who is asking, with the rights the interaction's member permissions give them in this server. */
export function discordActor(source: Interaction | Message): Actor {
  const user = 'user' in source && source.user ? source.user : (source as Message).author;
  const perms = 'memberPermissions' in source ? source.memberPermissions : (source as Message).member?.permissions;
  const inGuild = Boolean(source.guildId);
  return {
    surface: DISCORD,
    userId: user.id,
    userName: user.username,
    canModerate: async () => inGuild && Boolean(perms?.has(PermissionFlagsBits.ManageMessages)),
    canAdminister: async () => inGuild && Boolean(perms?.has(PermissionFlagsBits.ManageGuild)),
    adminRight: 'the **Manage Server** permission',
  };
}

/** Where: the server (if any), the channel, and a thread's parent. */
export function discordWhere(guildId: string | null, channelId: string, parentId?: string | null): Where {
  return { ...(guildId ? { place: guildPlace(guildId) } : {}), channelId, ...(parentId ? { parentId } : {}) };
}

export async function startJob(d: StartDeps, c: StartContext): Promise<string | undefined> {
  let announced = false;
  const hook = c.hook ? { ...c.hook, userId: c.actor.userId } : undefined;
  try {
    const job = await d.useCases.start({
      actor: c.actor,
      where: c.where,
      input: c.input,
      conversation: hook ? hookRef(hook) : channelRef(c.channelId),
      meta: { ...(c.guildId ? { guildId: c.guildId } : {}), ...(c.uploadLimit ? { uploadLimit: String(c.uploadLimit) } : {}) },
      // Posted only once the job is admitted: a refusal stays private and nothing is left behind.
      announce: async (job) => {
        const first = await c.respond(`⏳ **Starting…**\n${quotePrompt(job.request.prompt)}`);
        announced = true;
        if (hook) return { progressMessage: hookRef({ ...hook, messageId: '@original' }), conversation: hookRef(hook) };
        let conversation = channelRef(first.channelId, first.messageId);
        if (d.threadPerVideo && c.guildId && !c.where.parentId) {
          try {
            const name = job.request.prompt.replace(/\s+/g, ' ').slice(0, 90) || 'video';
            const thread = (await d.rest.post(Routes.threads(first.channelId, first.messageId), { body: { name, auto_archive_duration: 1440 } })) as { id: string };
            conversation = channelRef(thread.id);
          } catch (err) {
            d.logger.warn({ err }, 'could not open a thread; delivering as a reply');
          }
        }
        return { progressMessage: messageRef(first.channelId, first.messageId), conversation };
      },
    });
    return job.id;
  } catch (err) {
    if (!(err instanceof UserFacingError)) d.logger.error({ err }, 'could not start the job');
    if (!announced) await c.refuse(userMessageFor(err));
    return undefined;
  }
}
