/**
 * The one path every Discord way in takes to start a video: guild rules, validation,
 * limits, then the progress message, then the core. Nothing is submitted unless
 * every check passes, and every refusal is a specific message.
 */
import type { JobService } from '../../core/job-service.js';
import { UserFacingError, userMessageFor } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { GenerationInput } from '../../core/request.js';
import type { REST } from '@discordjs/rest';
import { Routes } from 'discord.js';
import { quotePrompt } from '../common/format.js';
import { DISCORD, channelRef, messageRef } from './discord-refs.js';
import type { GuildSettingsStore } from './guild-settings.js';

export interface StartContext {
  input: GenerationInput;
  userId: string;
  userName?: string;
  guildId: string | null;
  channelId: string;
  /** Parent channel when started inside a thread. */
  parentId?: string | null;
  /** From the interaction, when there is one. */
  uploadLimit?: number;
  /** Posts the first progress message (as the interaction reply or a message reply). */
  respond(content: string): Promise<{ channelId: string; messageId: string }>;
  /** Tells the user why nothing was started (ephemeral where possible). */
  refuse(text: string): Promise<void>;
}

export interface StartDeps {
  service: JobService;
  settings: GuildSettingsStore;
  rest: REST;
  logger: Logger;
  threadPerVideo: boolean;
  /** False while the bot shuts down: new requests are turned away (nothing is started). */
  accepting?: () => boolean;
}

export const RESTARTING = '⏳ The bot is restarting. Nothing was started; try again in a few seconds.';

export async function startJob(d: StartDeps, c: StartContext): Promise<string | undefined> {
  let settings;
  try {
    settings = await d.settings.get(c.guildId);
  } catch (err) {
    d.logger.error({ err }, 'could not read the server settings');
    await c.refuse("The bot couldn't read this server's settings just now, so nothing was started. Try again in a minute.");
    return undefined;
  }
  if (c.guildId && settings.channels.length && !settings.channels.includes(c.channelId) && !(c.parentId && settings.channels.includes(c.parentId))) {
    await c.refuse(`Videos can be made in ${settings.channels.map((id) => `<#${id}>`).join(', ')}.`);
    return undefined;
  }
  const input: GenerationInput = {
    ...c.input,
    model: c.input.model ?? settings.defaultModel,
    resolution: c.input.resolution ?? settings.defaultResolution,
  };
  const place = c.guildId ? { key: `${DISCORD}:guild:${c.guildId}`, dailyLimit: settings.dailyLimit, label: 'this server' } : undefined;
  let announced = false;
  try {
    d.service.validate(input);
    await d.service.checkAdmission({ surface: DISCORD, requesterId: c.userId, ...(place ? { place } : {}) });
    const { job } = await d.service.submit({
      input,
      surface: DISCORD,
      conversation: channelRef(c.channelId),
      requester: { id: c.userId, ...(c.userName ? { name: c.userName } : {}) },
      meta: { ...(c.guildId ? { guildId: c.guildId } : {}), ...(c.uploadLimit ? { uploadLimit: String(c.uploadLimit) } : {}) },
      ...(place ? { place } : {}),
      // Posted only once the job is admitted: a refusal stays private and nothing is left behind.
      announce: async () => {
        const first = await c.respond(`⏳ **Starting…**\n${quotePrompt(input.prompt)}`);
        announced = true;
        let conversation = channelRef(first.channelId, first.messageId);
        if (d.threadPerVideo && c.guildId && !c.parentId) {
          try {
            const name = input.prompt.replace(/\s+/g, ' ').slice(0, 90) || 'video';
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
