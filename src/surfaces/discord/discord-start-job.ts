/**
 * The one path every Discord way in takes to start a video: guild rules, validation,
 * limits, then the progress message, then the core. Nothing is submitted unless
 * every check passes, and every refusal is a specific message.
 */
import type { JobService } from '../../core/job-service.js';
import { userMessageFor } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { GenerationInput } from '../../core/request.js';
import type { REST } from '@discordjs/rest';
import { Routes } from 'discord.js';
import { quotePrompt } from '../common/format.js';
import { errorText } from './discord-format.js';
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
}

export async function startJob(d: StartDeps, c: StartContext): Promise<string | undefined> {
  const settings = await d.settings.get(c.guildId);
  if (c.guildId && settings.channels.length && !settings.channels.includes(c.channelId) && !(c.parentId && settings.channels.includes(c.parentId))) {
    await c.refuse(`Videos can be made in ${settings.channels.map((id) => `<#${id}>`).join(', ')}.`);
    return undefined;
  }
  const input: GenerationInput = {
    ...c.input,
    model: c.input.model ?? settings.defaultModel,
    resolution: c.input.resolution ?? settings.defaultResolution,
  };
  try {
    d.service.validate(input);
    d.service.checkAdmission(DISCORD, c.userId);
  } catch (err) {
    await c.refuse(userMessageFor(err));
    return undefined;
  }
  if (c.guildId && settings.dailyLimit > 0) {
    const used = await d.settings.usedToday(c.guildId, c.userId);
    if (used >= settings.dailyLimit) {
      await c.refuse(`You've made ${used} video${used === 1 ? '' : 's'} today; this server allows ${settings.dailyLimit} a day. Try again tomorrow (UTC).`);
      return undefined;
    }
  }

  const first = await c.respond(`⏳ **Starting…**\n${quotePrompt(input.prompt)}`);
  const progressMessage = messageRef(first.channelId, first.messageId);
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
  try {
    const { job } = await d.service.submit({
      input,
      surface: DISCORD,
      conversation,
      requester: { id: c.userId, ...(c.userName ? { name: c.userName } : {}) },
      meta: { ...(c.guildId ? { guildId: c.guildId } : {}), ...(c.uploadLimit ? { uploadLimit: String(c.uploadLimit) } : {}) },
      progressMessage,
    });
    if (c.guildId) await d.settings.countUse(c.guildId, c.userId);
    return job.id;
  } catch (err) {
    // Lost a race with the limits, or the store failed: say so where the progress message is.
    await d.rest
      .patch(Routes.channelMessage(first.channelId, first.messageId), { body: { content: errorText(userMessageFor(err)), components: [] } })
      .catch(() => undefined);
    if (!(err instanceof Error && 'code' in err)) d.logger.error({ err }, 'submit failed');
    return undefined;
  }
}
