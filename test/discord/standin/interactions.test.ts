// Real discord.js 14 interactions against the stand-in: slash commands, context menus, modals, buttons.
import {
  ActionRowBuilder, ButtonBuilder, ButtonStyle, DiscordAPIError, MessageFlags, ModalBuilder, Routes, TextInputBuilder, TextInputStyle,
} from 'discord.js';
import type { BaseInteraction, ButtonInteraction, ChatInputCommandInteraction, MessageContextMenuCommandInteraction, ModalSubmitInteraction, TextChannel } from 'discord.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rejectionOf } from '../../helpers/rejection.js';
import { STANDIN_IDS } from './discord-standin.js';
import { nextEvent, startHarness } from './test-client.js';
import type { Harness } from './test-client.js';

describe('discord stand-in interactions', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });
  afterEach(() => {
    h.client.removeAllListeners('interactionCreate');
    expect(h.errors).toEqual([]);
  });
  const next = async <T extends BaseInteraction>(id: string): Promise<T> => {
    const [i] = await nextEvent(h.client, 'interactionCreate', (x) => x.id === id);
    return i as unknown as T;
  };

  it('delivers a slash command with options and a resolved attachment; reply withResponse stores the message', async () => {
    const { id, token } = h.standin.slashCommand({
      name: 'video',
      options: [{ name: 'prompt', type: 3, value: 'a cat surfing' }, { name: 'image', type: 11 }],
      attachments: [{ filename: 'cat.png', contentType: 'image/png', size: 5000, width: 1280, height: 720 }],
      attachmentSizeLimit: 8 * 1024 * 1024,
    });
    const i = await next<ChatInputCommandInteraction>(id);
    expect(i.isChatInputCommand()).toBe(true);
    expect(i.commandName).toBe('video');
    expect(i.options.getString('prompt')).toBe('a cat surfing');
    const image = i.options.getAttachment('image', true);
    expect(image).toMatchObject({ name: 'cat.png', contentType: 'image/png', size: 5000, width: 1280, height: 720 });
    expect(image.url).toMatch(/^https:\/\/cdn\.discordapp\.com\/attachments\/810000000000000001\/\d+\/cat\.png$/);
    expect(i.attachmentSizeLimit).toBe(8 * 1024 * 1024);
    expect(i.user.id).toBe(STANDIN_IDS.alice);
    expect(i.guildId).toBe(STANDIN_IDS.guild);
    const response = await i.reply({ content: 'queued', withResponse: true });
    const message = response.resource?.message;
    expect(message?.content).toBe('queued');
    const stored = h.standin.messages.get(message?.id ?? '');
    expect(stored).toMatchObject({ content: 'queued', viaInteraction: id, type: 20, channelId: STANDIN_IDS.general });
    expect(h.standin.interactionResponses.get(id)).toMatchObject({ type: 4, messageId: message?.id });
    const again = await rejectionOf(h.client.rest.post(Routes.interactionCallback(id, token), { body: { type: 4, data: { content: 'twice' } }, auth: false }), DiscordAPIError);
    expect([again.status, again.code]).toEqual([400, 40060]);
  });

  it('defers, and the first follow-up replaces the loading message; editReply and later follow-ups work', async () => {
    const { id } = h.standin.slashCommand({ name: 'video', options: [{ name: 'prompt', type: 3, value: 'x' }] });
    const i = await next<ChatInputCommandInteraction>(id);
    await i.deferReply({ flags: MessageFlags.Ephemeral });
    const placeholderId = h.standin.interactionResponses.get(id)?.messageId ?? '';
    expect(h.standin.messages.get(placeholderId)?.flags).toBe(64 | 128);
    const first = await i.followUp({ content: 'rendering', files: [{ attachment: Buffer.from('mp4'), name: 'v.mp4' }] });
    expect(first.id).toBe(placeholderId);
    expect(h.standin.messages.get(placeholderId)).toMatchObject({ flags: 64, content: 'rendering' });
    await i.editReply({ content: 'done', attachments: [] });
    expect(h.standin.messages.get(placeholderId)).toMatchObject({ content: 'done', attachments: [] });
    const second = await i.followUp({ content: 'another' });
    expect(second.id).not.toBe(placeholderId);
    const fetched = await i.fetchReply();
    expect(fetched.id).toBe(placeholderId);
  });

  it('opens a modal from a message command and receives the submitted fields', async () => {
    const { id, targetId } = h.standin.messageCommand({
      name: 'Animate',
      target: { content: 'look', authorId: STANDIN_IDS.bob, attachments: [{ filename: 'dog.jpg', contentType: 'image/jpeg', size: 777, width: 800, height: 600 }] },
    });
    const i = await next<MessageContextMenuCommandInteraction>(id);
    expect(i.isMessageContextMenuCommand()).toBe(true);
    expect(i.targetMessage.id).toBe(targetId);
    expect(i.targetMessage.author.id).toBe(STANDIN_IDS.bob);
    expect(i.targetMessage.attachments.first()).toMatchObject({ name: 'dog.jpg', contentType: 'image/jpeg', size: 777, width: 800 });
    const modal = new ModalBuilder().setCustomId('animate:1').setTitle('Animate').addComponents(
      new ActionRowBuilder<TextInputBuilder>().addComponents(new TextInputBuilder().setCustomId('prompt').setLabel('Prompt').setStyle(TextInputStyle.Paragraph)),
    );
    await i.showModal(modal);
    expect(h.standin.interactionResponses.get(id)).toMatchObject({ type: 9, data: { custom_id: 'animate:1', title: 'Animate' } });
    expect(() => h.standin.submitModal({ customId: 'animate:1', fields: { nope: 'x' } })).toThrow(/no inputs nope/);
    const submitted = h.standin.submitModal({ customId: 'animate:1', fields: { prompt: 'make it jump' } });
    const m = await next<ModalSubmitInteraction>(submitted.id);
    expect(m.isModalSubmit()).toBe(true);
    expect(m.fields.getTextInputValue('prompt')).toBe('make it jump');
    await m.reply({ content: 'ok' });
    expect(h.standin.interactionResponses.get(submitted.id)?.type).toBe(4);
  });

  it('submits a string select in a label as its values: the defaults when left out, or the chosen option', async () => {
    const { id } = h.standin.slashCommand({ name: 'video', options: [{ name: 'prompt', type: 3, value: 'x' }] });
    const i = await next<ChatInputCommandInteraction>(id);
    await i.showModal({
      custom_id: 'extend:1',
      title: 'Extend',
      components: [
        { type: 18, label: 'What next?', component: { type: 4, custom_id: 'prompt', style: 2 } },
        { type: 18, label: 'From', component: { type: 3, custom_id: 'from', options: [{ label: 'Frame', value: 'frame', default: true }, { label: 'Clip', value: 'clip' }] } },
      ],
    });
    expect(() => h.standin.submitModal({ customId: 'extend:1', fields: { prompt: 'a', from: 'movie' } })).toThrow(/no option 'movie'/);
    expect(() => h.standin.submitModal({ customId: 'extend:1', fields: { prompt: ['a'] } })).toThrow(/text input/);
    const byDefault = await next<ModalSubmitInteraction>(h.standin.submitModal({ customId: 'extend:1', fields: { prompt: 'jump' } }).id);
    expect(byDefault.fields.getTextInputValue('prompt')).toBe('jump');
    expect(byDefault.fields.getStringSelectValues('from')).toEqual(['frame']);
    const chosen = await next<ModalSubmitInteraction>(h.standin.submitModal({ customId: 'extend:1', fields: { prompt: 'run', from: 'clip' } }).id);
    expect(chosen.fields.getStringSelectValues('from')).toEqual(['clip']);
    await chosen.reply({ content: 'ok' });
  });

  it('clicks a button on a bot message; permissions and update() reach the stand-in', async () => {
    const channel = h.client.channels.cache.get(STANDIN_IDS.general) as TextChannel;
    const row = new ActionRowBuilder<ButtonBuilder>().addComponents(new ButtonBuilder().setCustomId('cancel:42').setLabel('Cancel').setStyle(ButtonStyle.Danger));
    const sent = await channel.send({ content: 'rendering…', components: [row] });
    expect(() => h.standin.clickButton({ messageId: sent.id, customId: 'missing' })).toThrow(/no button/);
    const manage = (1n << 13n).toString();
    const click = h.standin.clickButton({ messageId: sent.id, customId: 'cancel:42', userId: STANDIN_IDS.bob, permissions: manage });
    const b = await next<ButtonInteraction>(click.id);
    expect(b.isButton()).toBe(true);
    expect(b.customId).toBe('cancel:42');
    expect(b.message.id).toBe(sent.id);
    expect(b.memberPermissions?.has('ManageMessages')).toBe(true);
    await b.update({ content: 'cancelled', components: [] });
    expect(h.standin.messages.get(sent.id)).toMatchObject({ content: 'cancelled', components: [] });
    expect(h.standin.messages.get(sent.id)?.history).toHaveLength(2);
    expect(() => h.standin.clickButton({ messageId: sent.id, customId: 'cancel:42' })).toThrow(/no button/);
  });

  it('deferUpdate then editReply edits the clicked message; a plain member lacks ManageMessages', async () => {
    const channel = h.client.channels.cache.get(STANDIN_IDS.general) as TextChannel;
    const row = new ActionRowBuilder<ButtonBuilder>().addComponents(new ButtonBuilder().setCustomId('retry').setLabel('Retry').setStyle(ButtonStyle.Primary));
    const sent = await channel.send({ content: 'failed', components: [row] });
    const click = h.standin.clickButton({ messageId: sent.id, customId: 'retry' });
    const b = await next<ButtonInteraction>(click.id);
    expect(b.memberPermissions?.has('ManageMessages')).toBe(false);
    await b.deferUpdate();
    await b.editReply({ content: 'retrying' });
    expect(h.standin.messages.get(sent.id)?.content).toBe('retrying');
    expect(h.standin.interactionResponses.get(click.id)?.type).toBe(6);
  });

  it('handles a slash command in a DM with a multipart reply', async () => {
    const { id } = h.standin.slashCommand({ name: 'video', guildId: null, userId: STANDIN_IDS.bob, options: [{ name: 'prompt', type: 3, value: 'dm' }] });
    const i = await next<ChatInputCommandInteraction>(id);
    expect(i.guildId).toBeNull();
    expect(i.user.id).toBe(STANDIN_IDS.bob);
    expect(i.channel?.isDMBased()).toBe(true);
    await i.reply({ content: 'hi', files: [{ attachment: Buffer.alloc(300, 1), name: 'clip.mp4' }] });
    const msgId = h.standin.interactionResponses.get(id)?.messageId ?? '';
    const stored = h.standin.messages.get(msgId);
    expect(h.standin.channels.get(stored?.channelId ?? '')?.type).toBe(1);
    expect(stored?.attachments.map((a) => [a.filename, a.size, a.contentType])).toEqual([['clip.mp4', 300, 'video/mp4']]);
    const callback = h.standin.calls.find((c) => c.path === `/interactions/${id}/${i.token}/callback`);
    expect(callback).toMatchObject({ status: 204, body: { payload_json: { type: 4 }, files: [{ name: 'clip.mp4', size: 300 }] } });
    expect(callback?.auth).toBeUndefined();
  });
});

describe('discord stand-in interaction deadline', () => {
  it('answers 10062 Unknown interaction when the first response is too late', async () => {
    const h = await startHarness({ interactionAckTimeoutMs: 50 });
    try {
      const { id } = h.standin.slashCommand({ name: 'video' });
      const [i] = await nextEvent(h.client, 'interactionCreate', (x) => x.id === id);
      await new Promise((r) => setTimeout(r, 80));
      const err = await rejectionOf((i as ChatInputCommandInteraction).deferReply(), DiscordAPIError);
      expect([err.status, err.code]).toEqual([404, 10062]);
      expect(h.standin.interactionResponses.has(id)).toBe(false);
    } finally {
      await h.close();
    }
  });
});
