/**
 * Messages. A message starts a paid job only when someone clearly asked:
 * - its text mentions the bot (`@Seedance a fox in snow`, or as a reply to one of
 *   its videos, `@Seedance make it night`, which continues from that video);
 * - it carries an image and addresses the bot: a mention, or the reply ping on a
 *   reply to one of the bot's messages;
 * - in a DM, a message (not a reply) with a prompt or an image.
 * A reply that only pings (a casual "nice!" under a video) does nothing; so do
 * forwards and empty messages. Inline flags such as `--ratio 9:16 --seed 42 --pro
 * --fixed` are understood. Mentions and DMs carry their content without the
 * privileged Message Content intent; replies do too while they ping the bot.
 */
import { MessageReferenceType } from 'discord.js';
import type { Message } from 'discord.js';
import type { Catalogue } from '../../core/catalogue.js';
import { UserFacingError, userMessageFor } from '../../core/errors.js';
import type { JobRecord } from '../../core/job.js';
import type { GenerationInput } from '../../core/request.js';
import { parseInlineFlags } from '../common/inline-flags.js';
import { errorText } from './discord-format.js';
import { attachmentFacts, firstImage, imagesOf, messageImages } from './discord-input.js';
import type { StartDeps } from './discord-start-job.js';
import { RESTARTING, discordActor, discordWhere, startJob } from './discord-start-job.js';
import { jobOfMessage } from './discord-surface.js';
import type Keyv from 'keyv';

export interface MessageDeps extends StartDeps {
  catalogue: Catalogue;
  cdnHosts: readonly string[];
  kv: Keyv;
  botUserId: () => string | undefined;
  allowDms: boolean;
}

export const USAGE =
  'Mention me with a prompt to make a video, attach an image to animate it, or reply to one of my videos to make another. ' +
  'Options: a model such as `--pro` or `--2.0`, `--ratio 9:16`, `--seed 42`, `--res 1080p`, `--duration 10`, `--fixed`, `--no-audio`. ' +
  'Several images are reference images on models that take them: name them @Image1, @Image2… in the prompt.';

export function createMessageHandler(d: MessageDeps) {
  /** The video this message replies to: its job id, and its record unless that has expired (JOB_RETENTION_DAYS). */
  async function repliedJob(m: Message): Promise<{ jobId: string; job?: JobRecord } | undefined> {
    const ref = m.reference?.messageId;
    if (!ref) return undefined;
    const jobId = await jobOfMessage(d.kv, ref);
    if (!jobId) return undefined;
    const job = await d.service.get(jobId);
    return job ? { jobId, job } : { jobId };
  }

  async function build(m: Message, text: string, previous: { jobId: string; job?: JobRecord } | undefined): Promise<GenerationInput | undefined> {
    const parsed = parseInlineFlags(text, d.catalogue.aliases());
    if (parsed.problems.length) throw new UserFacingError('bad_flags', `${parsed.problems.join('; ')}. ${USAGE}`);
    const found = imagesOf([...m.attachments.values()].map(attachmentFacts));
    // One image is the first frame; several are reference images (@Image1…) where a model takes them.
    const images = messageImages(found, d.catalogue, d.cdnHosts);
    if (previous && !found.length) {
      // An expired record is answered as the buttons answer it ("no longer has this video's details").
      const job = previous.job ?? (await d.useCases.jobFor(previous.jobId));
      return { ...d.useCases.again(job, parsed.prompt || undefined), ...parsed.options };
    }
    if (!parsed.prompt && !found.length) return undefined;
    return { prompt: parsed.prompt, ...parsed.options, ...images };
  }

  /** Whether this message asks the bot for a video (see the rules at the top). */
  function addressed(m: Message, botId: string): boolean {
    // A forward copies someone's message (and its images) without asking anything.
    if (m.reference?.type === MessageReferenceType.Forward || m.messageSnapshots?.size) return false;
    const explicit = new RegExp(`<@!?${botId}>`).test(m.content);
    if (explicit) return true;
    const hasImage = Boolean(firstImage([...m.attachments.values()].map(attachmentFacts)));
    const reply = Boolean(m.reference?.messageId);
    // On a reply, mentions.users holds the replied-to author only when the reply pings.
    if (hasImage && m.mentions.users.has(botId)) return true;
    if (!m.guildId && !reply) return hasImage || m.content.trim().length > 0;
    return false;
  }

  return async function handle(m: Message): Promise<void> {
    if (m.author.bot || m.webhookId || m.system) return;
    const botId = d.botUserId();
    if (!botId) return;
    if (!m.guildId && !d.allowDms) return;
    if (!addressed(m, botId)) return;
    if (d.accepting && !d.accepting()) {
      await m.reply({ content: RESTARTING, allowedMentions: { repliedUser: false } }).catch(() => undefined);
      return;
    }
    const text = m.content.replace(new RegExp(`<@!?${botId}>`, 'g'), ' ').trim();
    try {
      // Recorded before anything can start: a replayed copy of this message (a resumed or
      // overlapping gateway session) is ignored.
      if (!(await d.service.firstDelivery(`discord:message:${m.id}`))) return;
      const previous = await repliedJob(m).catch(() => undefined);
      const input = await build(m, text, previous);
      if (!input) {
        await m.reply({ content: USAGE, allowedMentions: { repliedUser: false } });
        return;
      }
      await startJob(d, {
        input,
        actor: discordActor(m),
        where: discordWhere(m.guildId, m.channelId, m.channel.isThread() ? m.channel.parentId : null),
        guildId: m.guildId,
        channelId: m.channelId,
        async respond(content) {
          const sent = await m.reply({ content, allowedMentions: { parse: [], repliedUser: false } });
          return { channelId: sent.channelId, messageId: sent.id };
        },
        async refuse(reason) {
          await m.reply({ content: errorText(reason), allowedMentions: { repliedUser: false } });
        },
      });
    } catch (err) {
      if (!(err instanceof UserFacingError)) d.logger.error({ err, message: m.id }, 'message handling failed');
      await m.reply({ content: errorText(userMessageFor(err)), allowedMentions: { repliedUser: false } }).catch(() => undefined);
    }
  };
}
