/**
 * Slash commands, Apps > Animate, modals and buttons. Every interaction is
 * answered at once (well inside Discord's 3 s); refusals are ephemeral. Where
 * the bot can't post with its own token (a user install where the bot is not a
 * member, a group DM: discord-reach.ts), a job's progress and results go through
 * the interaction's webhook instead.
 */
import { randomBytes } from 'node:crypto';
import type {
  ButtonInteraction,
  ChatInputCommandInteraction,
  Interaction,
  MessageContextMenuCommandInteraction,
  ModalSubmitInteraction,
} from 'discord.js';
import { MessageFlags, Routes } from 'discord.js';
import { ADMIN_COMMAND, ANIMATE_COMMAND, USAGE_COMMAND, VIDEO_COMMAND } from '../../../commands/discord-commands.js';
import type { Catalogue } from '../../core/catalogue.js';
import { UserFacingError, userMessageFor } from '../../core/errors.js';
import type { JobRecord } from '../../core/job.js';
import type { GenerationInput } from '../../core/request.js';
import { PROMPT_MAX_CHARS } from '../../core/request.js';
import { parseInlineFlags } from '../common/inline-flags.js';
import { handleAdmin, handleUsage } from './discord-admin.js';
import { extendInput, openExtend } from './discord-extend.js';
import { errorText } from './discord-format.js';
import { attachmentFacts, imageFromAttachment, imagesOf, messageImages, referenceOptions } from './discord-input.js';
import { interactionReach } from './discord-reach.js';
import { parseButtonId } from './discord-refs.js';
import type { StartContext, StartDeps } from './discord-start-job.js';
import { RESTARTING, discordActor, discordWhere, startJob } from './discord-start-job.js';
import { INTERACTION_TOKEN_TTL_MS } from './discord-surface.js';

export interface InteractionDeps extends StartDeps {
  catalogue: Catalogue;
  cdnHosts: readonly string[];
  now?: () => number;
  /** How long an interaction token lasts (Discord: 15 minutes; DISCORD_INTERACTION_TOKEN_TTL_S). */
  interactionTokenTtlMs?: number;
}

type Repliable = ChatInputCommandInteraction | ModalSubmitInteraction | ButtonInteraction;

const ANIMATE_TTL_MS = 15 * 60_000;

function attachmentLimit(i: Interaction): number | undefined {
  const v = (i as unknown as { attachmentSizeLimit?: number }).attachmentSizeLimit;
  return typeof v === 'number' && v > 0 ? v : undefined;
}

export function createInteractionHandler(d: InteractionDeps) {
  const now = d.now ?? Date.now;
  /** Images waiting for their Animate modal to be submitted. */
  const pendingAnimate = new Map<string, { images: Pick<GenerationInput, 'image' | 'references'>; expires: number }>();

  const tokenTtlMs = d.interactionTokenTtlMs ?? INTERACTION_TOKEN_TTL_MS;

  function context(i: Repliable, input: GenerationInput): StartContext {
    const channel = i.channel;
    const parentId = channel && 'isThread' in channel && channel.isThread() ? channel.parentId : null;
    const reach = interactionReach(i);
    if (reach.via === 'webhook') d.logger.info({ interaction: i.id, reason: reach.reason }, 'the bot cannot post here with its own token; answering through the interaction webhook');
    return {
      input,
      actor: discordActor(i),
      where: discordWhere(i.guildId, i.channelId!, parentId),
      guildId: i.guildId,
      channelId: i.channelId!,
      uploadLimit: attachmentLimit(i),
      // The token counts from the interaction (Discord's clock); never later than now by ours.
      ...(reach.via === 'webhook' ? { hook: { appId: i.applicationId, token: i.token, expiresAt: Math.min(i.createdTimestamp, now()) + tokenTtlMs } } : {}),
      async respond(content) {
        const res = await i.reply({ content, allowedMentions: { parse: [] }, withResponse: true });
        const message = res.resource?.message;
        if (!message) throw new Error('Discord did not return the reply message');
        return { channelId: message.channelId, messageId: message.id };
      },
      async refuse(text) {
        await i.reply({ content: errorText(text), flags: MessageFlags.Ephemeral });
      },
    };
  }

  async function refuse(i: Repliable | MessageContextMenuCommandInteraction, err: unknown) {
    const text = errorText(userMessageFor(err));
    if (i.deferred && !i.replied) await i.editReply({ content: text });
    else if (i.replied) await i.followUp({ content: text, flags: MessageFlags.Ephemeral });
    else await i.reply({ content: text, flags: MessageFlags.Ephemeral });
  }

  async function onVideo(i: ChatInputCommandInteraction) {
    const o = i.options;
    const image = o.getAttachment('image');
    const last = o.getAttachment('last_frame');
    const input: GenerationInput = {
      prompt: o.getString('prompt', true),
      ...(o.getString('model') ? { model: o.getString('model')! } : {}),
      ...(o.getString('resolution') ? { resolution: o.getString('resolution')! } : {}),
      ...(o.getInteger('duration') !== null ? { duration: o.getInteger('duration')! } : {}),
      ...(o.getString('aspect_ratio') ? { aspectRatio: o.getString('aspect_ratio')! } : {}),
      ...(o.getInteger('seed') !== null ? { seed: o.getInteger('seed')! } : {}),
      ...(o.getBoolean('fixed_camera') ? { fixedCamera: true } : {}),
      ...(o.getBoolean('audio') !== null ? { audio: o.getBoolean('audio')! } : {}),
      ...(image ? { image: imageFromAttachment(attachmentFacts(image), 'image', d.cdnHosts) } : {}),
      ...(last ? { lastFrame: imageFromAttachment(attachmentFacts(last), 'last frame', d.cdnHosts) } : {}),
      ...referenceOptions(i, d.cdnHosts),
    };
    await startJob(d, context(i, input));
  }

  async function onAnimateCommand(i: MessageContextMenuCommandInteraction) {
    const target = i.targetMessage;
    const found = imagesOf([...target.attachments.values()].map(attachmentFacts));
    if (!found.length) throw new UserFacingError('no_image', 'That message has no image to animate.');
    // One image is the first frame; several are reference images where a model takes them.
    const images = messageImages(found, d.catalogue, d.cdnHosts);
    for (const [k, v] of pendingAnimate) if (v.expires < now()) pendingAnimate.delete(k);
    const key = randomBytes(9).toString('base64url');
    pendingAnimate.set(key, { images, expires: now() + ANIMATE_TTL_MS });
    const modal = images.references
      ? promptModal(`sd:animate:${key}`, 'Animate with these images', target.content, 'e.g. @Image1 walks into @Image2 --2.0 (flags as in a mention)')
      : promptModal(`sd:animate:${key}`, 'Animate this image', target.content);
    await i.showModal(modal);
  }

  function promptModal(customId: string, title: string, prefill?: string | null, placeholder = 'e.g. she turns to the camera and smiles, hair moving in the wind') {
    const value = prefill?.trim().slice(0, PROMPT_MAX_CHARS);
    return {
      custom_id: customId,
      title,
      components: [
        {
          type: 1,
          components: [
            {
              type: 4,
              custom_id: 'prompt',
              label: 'What should happen?',
              style: 2,
              required: true,
              max_length: PROMPT_MAX_CHARS,
              placeholder,
              ...(value ? { value } : {}),
            },
          ],
        },
      ],
    };
  }

  const jobFor = (jobId: string): Promise<JobRecord> => d.useCases.jobFor(jobId);
  const rerunInput = (job: JobRecord, prompt?: string): GenerationInput => d.useCases.again(job, prompt);

  async function onModal(i: ModalSubmitInteraction) {
    const prompt = i.fields.getTextInputValue('prompt');
    const [, kind, key] = i.customId.split(':');
    if (kind === 'animate') {
      const pending = pendingAnimate.get(key ?? '');
      if (!pending || pending.expires < now()) throw new UserFacingError('expired', 'That form expired. Use Apps > Animate on the image again.');
      pendingAnimate.delete(key!);
      // Flags as in a mention (`--2.0`, `--ratio 9:16`): this form has no other way to pick a model.
      const parsed = parseInlineFlags(prompt, d.catalogue.aliases());
      if (parsed.problems.length) throw new UserFacingError('bad_flags', `${parsed.problems.join('; ')}. Use Apps > Animate on the image again.`);
      await startJob(d, context(i, { prompt: parsed.prompt, ...parsed.options, ...pending.images }));
    } else if (kind === 'again') {
      await startJob(d, context(i, rerunInput(await jobFor(key!), prompt)));
    } else if (kind === 'extend') {
      await startJob(d, context(i, await extendInput(i, d.useCases, key!)));
    }
  }

  async function onButton(i: ButtonInteraction) {
    const parsed = parseButtonId(i.customId);
    if (!parsed) return;
    const actor = discordActor(i);
    const where = discordWhere(i.guildId, i.channelId);
    switch (parsed.action) {
      case 'cancel':
        await d.useCases.authorize(actor, where, parsed.jobId);
        // Answer inside Discord's 3 s first: cancelling edits the progress message over REST.
        await i.deferReply({ flags: MessageFlags.Ephemeral });
        await d.useCases.cancel(actor, where, parsed.jobId);
        await i.editReply({ content: 'Stopped. The provider may still finish the job and charge for it.' });
        return;
      case 'delete':
        await d.useCases.authorize(actor, where, parsed.jobId);
        if (interactionReach(i).via === 'webhook') {
          // No channel API here; a button interaction's @original is the message the button is on.
          await i.deferUpdate();
          await i.deleteReply();
          await i.followUp({ content: 'Deleted.', flags: MessageFlags.Ephemeral });
          return;
        }
        await i.deferReply({ flags: MessageFlags.Ephemeral });
        await d.rest.delete(Routes.channelMessage(i.channelId, i.message.id));
        await i.editReply({ content: 'Deleted.' });
        return;
      case 'reroll':
        await startJob(d, context(i, rerunInput(await jobFor(parsed.jobId))));
        return;
      case 'extend':
        await openExtend(i, d.useCases, parsed.jobId);
        return;
      case 'again': {
        const job = await jobFor(parsed.jobId);
        await i.showModal(promptModal(`sd:again:${job.id}`, 'Animate again', job.request.prompt));
        return;
      }
    }
  }

  return async function handle(i: Interaction): Promise<void> {
    try {
      if (i.isAutocomplete()) return;
      if (d.accepting && !d.accepting()) {
        if (i.isRepliable()) await i.reply({ content: RESTARTING, flags: MessageFlags.Ephemeral });
        return;
      }
      // Recorded before anything can start: a second copy of this interaction (an overlapping
      // gateway session) is ignored; the first copy answers it.
      if (!(await d.service.firstDelivery(`discord:interaction:${i.id}`))) return;
      if (i.isChatInputCommand()) {
        if (i.commandName === VIDEO_COMMAND) await onVideo(i);
        else if (i.commandName === ADMIN_COMMAND) await handleAdmin(i, d.useCases);
        else if (i.commandName === USAGE_COMMAND) await handleUsage(i, d.useCases);
      } else if (i.isMessageContextMenuCommand() && i.commandName === ANIMATE_COMMAND) await onAnimateCommand(i);
      else if (i.isModalSubmit()) await onModal(i);
      else if (i.isButton()) await onButton(i);
    } catch (err) {
      if (!(err instanceof UserFacingError)) d.logger.error({ err, interaction: i.id }, 'interaction failed');
      if (i.isRepliable()) await refuse(i as Repliable, err).catch((e: unknown) => d.logger.warn({ err: e }, 'could not answer the interaction'));
    }
  };
}
