// User installs against the stand-in: a server that never added the bot, a group DM between users, interaction
// webhooks (follow-ups with files, GET/PATCH of their messages, token expiry) and command install fields.
import { AttachmentBuilder, DiscordAPIError, MessageFlags, Routes } from 'discord.js';
import type { BaseInteraction, ChatInputCommandInteraction } from 'discord.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rejectionOf } from '../../helpers/rejection.js';
import { STANDIN_IDS } from './discord-standin.js';
import { nextEvent, startHarness } from './test-client.js';
import type { Harness } from './test-client.js';

const FOREIGN_GUILD = '800000000000000009';
const FOREIGN_CHANNEL = '810000000000000091';
const GROUP_DM = '820000000000000001';
const VIEW_SEND = (1n << 10n) | (1n << 11n);

describe('discord stand-in: user installs where the bot is not a member', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      guilds: [
        { id: STANDIN_IDS.guild, name: 'Test Guild', channels: [{ id: STANDIN_IDS.general, name: 'general' }] },
        { id: FOREIGN_GUILD, name: 'Elsewhere', botMember: false, channels: [{ id: FOREIGN_CHANNEL, name: 'lounge' }] },
      ],
      privateChannels: [{ id: GROUP_DM, recipientIds: [STANDIN_IDS.alice, STANDIN_IDS.bob], name: 'friends' }],
    });
  });
  afterAll(async () => {
    await h?.close();
  });
  afterEach(() => {
    h.client.removeAllListeners('interactionCreate');
  });
  const next = async <T extends BaseInteraction>(id: string): Promise<T> => {
    const [i] = await nextEvent(h.client, 'interactionCreate', (x) => x.id === id);
    return i as unknown as T;
  };
  const bot = () => h.client.rest;

  it('leaves a server that did not add the bot out of READY, and answers its bot-token routes with 403 50001', async () => {
    expect(h.client.guilds.cache.has(STANDIN_IDS.guild)).toBe(true);
    expect(h.client.guilds.cache.has(FOREIGN_GUILD)).toBe(false);
    for (const call of [
      bot().get(Routes.channel(FOREIGN_CHANNEL)),
      bot().post(Routes.channelMessages(FOREIGN_CHANNEL), { body: { content: 'hi' } }),
      bot().get(Routes.guildMember(FOREIGN_GUILD, STANDIN_IDS.alice)),
      bot().post(Routes.channelMessages(GROUP_DM), { body: { content: 'hi' } }),
    ]) {
      const err = await rejectionOf(call, DiscordAPIError);
      expect([err.status, err.code]).toEqual([403, 50001]);
    }
  });

  it('sends a user install in that server with its owners, context and permissions; the webhook posts, edits and fetches', async () => {
    const { id } = h.standin.slashCommand({ name: 'video', channelId: FOREIGN_CHANNEL, options: [{ name: 'prompt', type: 3, value: 'x' }] });
    const i = await next<ChatInputCommandInteraction>(id);
    expect(i.guildId).toBe(FOREIGN_GUILD);
    expect(i.guild).toBeNull();
    expect(i.context).toBe(0);
    expect(i.authorizingIntegrationOwners.guildId).toBeNull();
    expect(i.authorizingIntegrationOwners.userId).toBe(STANDIN_IDS.alice);
    expect(i.appPermissions.bitfield & VIEW_SEND).toBe(0n);
    expect(i.appPermissions.has('AttachFiles')).toBe(true);

    const res = await i.reply({ content: 'Starting…', withResponse: true });
    const original = res.resource!.message!;
    expect(original.channelId).toBe(FOREIGN_CHANNEL);
    // The bot token can't touch the response; the interaction's webhook can.
    const denied = await rejectionOf(bot().patch(Routes.channelMessage(FOREIGN_CHANNEL, original.id), { body: { content: 'no' } }), DiscordAPIError);
    expect([denied.status, denied.code]).toEqual([403, 50001]);
    const hook = (messageId = '@original') => Routes.webhookMessage(h.standin.applicationId, i.token, messageId);
    await bot().patch(hook(), { body: { content: 'Rendering 40%' }, auth: false });
    expect(h.standin.messages.get(original.id)!.content).toBe('Rendering 40%');

    const events: string[] = [];
    h.client.on('messageCreate', (m) => events.push(m.id));
    const sent = (await bot().post(Routes.webhook(h.standin.applicationId, i.token), {
      body: { content: 'your video' },
      files: [{ name: 'v.mp4', data: Buffer.alloc(4096, 7) }],
      auth: false,
      query: new URLSearchParams({ wait: 'true' }),
    })) as { id: string; channel_id: string; webhook_id: string; attachments: { filename: string; size: number }[]; interaction_metadata: { authorizing_integration_owners: Record<string, string> } };
    expect(sent).toMatchObject({ channel_id: FOREIGN_CHANNEL, webhook_id: h.standin.applicationId, attachments: [{ filename: 'v.mp4', size: 4096 }] });
    expect(sent.interaction_metadata.authorizing_integration_owners).toEqual({ '1': STANDIN_IDS.alice });
    expect(h.standin.messages.get(sent.id)!.attachments[0]!.data.equals(Buffer.alloc(4096, 7))).toBe(true);
    const fetched = (await bot().get(hook(sent.id), { auth: false })) as { id: string; content: string };
    expect(fetched).toMatchObject({ id: sent.id, content: 'your video' });
    await bot().patch(hook(sent.id), { body: { content: 'your video (edited)' }, auth: false });
    expect(h.standin.messages.get(sent.id)!.content).toBe('your video (edited)');
    // Nothing from a channel the bot is not in reaches its gateway.
    await new Promise((r) => setTimeout(r, 100));
    expect(events).toEqual([]);
    h.client.removeAllListeners('messageCreate');
  });

  it('sends a group DM between users as context 2, reachable only through the interaction', async () => {
    const { id } = h.standin.slashCommand({ name: 'video', guildId: null, channelId: GROUP_DM, options: [{ name: 'prompt', type: 3, value: 'x' }] });
    const i = await next<ChatInputCommandInteraction>(id);
    expect(i.guildId).toBeNull();
    expect(i.context).toBe(2);
    expect(i.authorizingIntegrationOwners.userId).toBe(STANDIN_IDS.alice);
    expect(i.appPermissions.bitfield & VIEW_SEND).toBe(0n);
    await i.reply({ content: 'ok', flags: MessageFlags.Ephemeral });
    const followUp = await i.followUp({ content: 'file', files: [new AttachmentBuilder(Buffer.alloc(10, 1), { name: 'a.mp4' })] });
    expect(h.standin.messages.get(followUp.id)).toMatchObject({ channelId: GROUP_DM, content: 'file' });
  });

  it('refuses a server install in a place the bot is not in, and keeps server installs as before', async () => {
    expect(() => h.standin.slashCommand({ name: 'video', channelId: FOREIGN_CHANNEL, install: 'guild' })).toThrow(/only a user install/);
    const { id } = h.standin.slashCommand({ name: 'video', install: 'both' });
    const i = await next<ChatInputCommandInteraction>(id);
    expect(i.authorizingIntegrationOwners.guildId).toBe(STANDIN_IDS.guild);
    expect(i.authorizingIntegrationOwners.userId).toBe(STANDIN_IDS.alice);
    expect(i.appPermissions.has(['ViewChannel', 'SendMessages', 'AttachFiles'])).toBe(true);
    await i.reply({ content: 'ok', flags: MessageFlags.Ephemeral });
  });

  it('validates integration_types and contexts on a bulk overwrite', async () => {
    const route = Routes.applicationCommands(h.standin.applicationId);
    const ok = [{ name: 'video', description: 'd', integration_types: [0, 1], contexts: [0, 1, 2] }, { type: 3, name: 'Animate', integration_types: [0, 1], contexts: [0] }];
    const saved = (await bot().put(route, { body: ok })) as { integration_types: number[]; contexts: number[] }[];
    expect(saved.map((c) => [c.integration_types, c.contexts])).toEqual([[[0, 1], [0, 1, 2]], [[0, 1], [0]]]);
    for (const bad of [{ integration_types: [2] }, { contexts: [] }, { contexts: [0, 0] }, { integration_types: 'user' }]) {
      const err = await rejectionOf(bot().put(route, { body: [{ name: 'video', description: 'd', ...bad }] }), DiscordAPIError);
      expect([err.status, err.code]).toEqual([400, 50035]);
    }
  });
});

describe('discord stand-in: interaction token expiry', () => {
  it('answers the webhook with 401 50027 once webhookTokenTtlMs has passed', async () => {
    const h = await startHarness({ webhookTokenTtlMs: 300 });
    try {
      const { id } = h.standin.slashCommand({ name: 'video' });
      const [raw] = await nextEvent(h.client, 'interactionCreate', (x) => x.id === id);
      const i = raw as ChatInputCommandInteraction;
      await i.reply({ content: 'Starting…' });
      await h.client.rest.patch(Routes.webhookMessage(h.standin.applicationId, i.token), { body: { content: 'still fine' }, auth: false });
      await new Promise((r) => setTimeout(r, 400));
      for (const call of [
        h.client.rest.patch(Routes.webhookMessage(h.standin.applicationId, i.token), { body: { content: 'late' }, auth: false }),
        h.client.rest.post(Routes.webhook(h.standin.applicationId, i.token), { body: { content: 'late' }, auth: false }),
      ]) {
        const err = await rejectionOf(call, DiscordAPIError);
        expect([err.status, err.code]).toEqual([401, 50027]);
      }
      // A 401 on a call without the bot token leaves the bot's token alone.
      await h.client.rest.get(Routes.user('@me'));
    } finally {
      await h.close();
    }
  });

});
