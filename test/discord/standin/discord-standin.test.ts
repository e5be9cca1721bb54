// Real discord.js 14 against the stand-in: login, channel messages, edits, replies, DMs, threads, commands, faults.
import { ChannelType, DiscordAPIError, GatewayIntentBits, HTTPError, MessageFlags, MessageReferenceType, MessageType, Routes, type TextChannel } from 'discord.js';
import type { ChatInputCommandInteraction, Message } from 'discord.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { rejectionOf } from '../../helpers/rejection.js';
import { STANDIN_IDS } from './discord-standin.js';
import { makeClient, nextEvent, startHarness } from './test-client.js';
import type { Harness } from './test-client.js';

const MIB = 1024 * 1024;

describe('discord stand-in with a logged-in discord.js client', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });
  afterEach(() => {
    h.standin.clearFaults();
    expect(h.errors).toEqual([]);
  });
  const general = (): TextChannel => h.client.channels.cache.get(STANDIN_IDS.general) as TextChannel;

  it('reaches ready with the seeded guild, channels and bot user', async () => {
    await h.standin.waitForReady(1000);
    expect(h.client.user?.id).toBe(h.standin.botUserId);
    const guild = h.client.guilds.cache.get(STANDIN_IDS.guild);
    expect(guild?.name).toBe('Test Guild');
    expect(guild?.premiumTier).toBe(0);
    expect(guild?.channels.cache.map((c) => c.id).sort()).toEqual([STANDIN_IDS.general, STANDIN_IDS.second]);
    expect(general().type).toBe(ChannelType.GuildText);
    expect(guild?.members.me?.permissions.has('ManageMessages')).toBe(true);
    const gw = h.standin.calls.find((c) => c.path === '/gateway/bot');
    expect(gw?.auth).toBe(`Bot ${h.standin.token}`);
    expect(h.standin.gatewayReceived.find((r) => r.op === 2)?.d).toMatchObject({ token: '<redacted>' });
  });

  it('dedupes a send with enforceNonce and stores the uploaded file', async () => {
    const video = Buffer.alloc(2048, 7);
    const send = () => general().send({ content: 'here', files: [{ attachment: video, name: 'v.mp4' }], nonce: 'abc', enforceNonce: true });
    const first = await send();
    const second = await send();
    expect(second.id).toBe(first.id);
    const stored = [...h.standin.messages.values()].filter((m) => m.nonce === 'abc');
    expect(stored).toHaveLength(1);
    expect(stored[0]?.attachments).toHaveLength(1);
    expect(stored[0]?.attachments[0]).toMatchObject({ filename: 'v.mp4', size: 2048, contentType: 'video/mp4' });
    expect(stored[0]?.attachments[0]?.data.equals(video)).toBe(true);
    expect(first.attachments.first()?.url).toMatch(/^https:\/\/cdn\.discordapp\.com\/attachments\/810000000000000001\/\d+\/v\.mp4$/);
    const upload = h.standin.calls.filter((c) => c.method === 'POST' && c.path === `/channels/${STANDIN_IDS.general}/messages`).at(-1);
    expect(upload?.body).toMatchObject({ payload_json: { nonce: 'abc', enforce_nonce: true }, files: [{ name: 'v.mp4', size: 2048 }] });
  });

  it('rejects a file over the 10 MiB limit with 413 / 40005', async () => {
    const err = await rejectionOf(general().send({ files: [{ attachment: Buffer.alloc(10 * MIB + 1), name: 'big.mp4' }] }), DiscordAPIError);
    expect(err.code).toBe(40005);
    expect(err.status).toBe(413);
  });

  it('edits via REST into history, then 10008 once deleted; replies honour fail_if_not_exists', async () => {
    const sent = await general().send('v1');
    await h.client.rest.patch(Routes.channelMessage(STANDIN_IDS.general, sent.id), { body: { content: 'v2' } });
    const stored = h.standin.messages.get(sent.id);
    expect(stored?.history.map((v) => v.content)).toEqual(['v1', 'v2']);
    expect(stored?.editedAt).toBeDefined();
    h.standin.deleteMessage(sent.id);
    const gone = await rejectionOf(h.client.rest.get(Routes.channelMessage(STANDIN_IDS.general, sent.id)), DiscordAPIError);
    expect([gone.status, gone.code]).toEqual([404, 10008]);
    const lenient = await general().send({ content: 'still here', reply: { messageReference: sent.id, failIfNotExists: false } });
    expect(lenient.reference).toBeNull();
    expect(h.standin.messages.get(lenient.id)?.messageReference).toBeUndefined();
    const strict = await rejectionOf(general().send({ content: 'x', reply: { messageReference: sent.id, failIfNotExists: true } }), DiscordAPIError);
    expect([strict.status, strict.code]).toEqual([400, 50035]);
    expect(strict.message).toContain('MESSAGE_REFERENCE_UNKNOWN_MESSAGE');
  });

  it('refuses to edit a user message (50005) and rejects empty or oversized content', async () => {
    const user = h.standin.userMessage({ content: 'mine' });
    const err = await rejectionOf(h.client.rest.patch(Routes.channelMessage(STANDIN_IDS.general, user.id), { body: { content: 'x' } }), DiscordAPIError);
    expect([err.status, err.code]).toEqual([403, 50005]);
    const empty = await rejectionOf(h.client.rest.post(Routes.channelMessages(STANDIN_IDS.general), { body: { content: '' } }), DiscordAPIError);
    expect(empty.code).toBe(50006);
    const long = await rejectionOf(general().send('x'.repeat(2001)), DiscordAPIError);
    expect(long.code).toBe(50035);
  });

  it('delivers a user message mentioning the bot with its attachment; a reply references it', async () => {
    const got = nextEvent(h.client, 'messageCreate', (m) => m.author.id === STANDIN_IDS.alice);
    const sent = h.standin.userMessage({ content: 'make a video', mentionBot: true, attachments: [{ filename: 'cat.png', contentType: 'image/png', size: 1234, width: 640, height: 480 }] });
    const [message] = await got;
    expect(message.id).toBe(sent.id);
    expect(message.mentions.users.has(h.standin.botUserId)).toBe(true);
    expect(message.attachments.first()).toMatchObject({ name: 'cat.png', contentType: 'image/png', size: 1234, width: 640, height: 480 });
    const reply = await message.reply('on it');
    expect(h.standin.messages.get(reply.id)?.messageReference?.message_id).toBe(sent.id);
    expect(h.standin.messages.get(reply.id)?.type).toBe(19);
  });

  it('delivers DMs (Partials.Channel) and opens one DM channel per user', async () => {
    const got = nextEvent(h.client, 'messageCreate', (m) => m.channel.type === ChannelType.DM);
    const sent = h.standin.userMessage({ content: 'hi in dm', guildId: null, userId: STANDIN_IDS.bob });
    const [message] = await got;
    expect(message.content).toBe('hi in dm');
    expect(message.guildId).toBeNull();
    const user = await h.client.users.fetch(STANDIN_IDS.bob);
    const dm = await user.createDM(true);
    expect(dm.id).toBe(sent.channelId);
    const again = await h.client.rest.post(Routes.userChannels(), { body: { recipient_id: STANDIN_IDS.bob } }) as { id: string; type: number };
    expect(again).toMatchObject({ id: dm.id, type: 1 });
    const out = await dm.send('hello bob');
    expect(h.standin.messages.get(out.id)?.channelId).toBe(dm.id);
  });

  it('starts a thread from a message (id == message id) and refuses a second one', async () => {
    const root = await general().send('thread root');
    const created = nextEvent(h.client, 'threadCreate');
    const thread = await root.startThread({ name: 'Render 1' });
    expect(thread.id).toBe(root.id);
    expect(thread.type).toBe(ChannelType.PublicThread);
    expect(thread.parentId).toBe(STANDIN_IDS.general);
    expect((await created)[0].id).toBe(root.id);
    await thread.send('inside');
    expect(h.standin.channels.get(root.id)).toMatchObject({ type: 11, parentId: STANDIN_IDS.general });
    const err = await rejectionOf(h.client.rest.post(Routes.threads(STANDIN_IDS.general, root.id), { body: { name: 'again' } }), DiscordAPIError);
    expect(err.code).toBe(160004);
  });

  it('records a bulk command overwrite, keeps ids stable and validates names', async () => {
    const body = [{ name: 'video', description: 'Make a video', options: [{ type: 3, name: 'prompt', description: 'What', required: true }] }];
    const first = await h.client.application!.commands.set(body, STANDIN_IDS.guild);
    const second = await h.client.application!.commands.set(body, STANDIN_IDS.guild);
    expect(second.first()?.id).toBe(first.first()?.id);
    expect(h.standin.commands.guild.get(STANDIN_IDS.guild)).toHaveLength(1);
    await h.client.application!.commands.set([{ name: 'video', description: 'global' }]);
    expect(h.standin.commands.global).toMatchObject([{ name: 'video', description: 'global' }]);
    const bad = await rejectionOf(h.client.rest.put(Routes.applicationCommands(h.standin.applicationId), { body: [{ name: 'Bad Name', description: 'x' }] }), DiscordAPIError);
    expect(bad.code).toBe(50035);
  });

  it('injects faults: 500 once, then a 429 that discord.js waits out', async () => {
    h.standin.addFault({ method: 'POST', pathIncludes: '/messages', status: 500 });
    const err = await rejectionOf(general().send('boom'), HTTPError);
    expect(err.status).toBe(500);
    h.standin.addFault({ method: 'POST', pathIncludes: '/messages', status: 429, body: { message: 'You are being rate limited.', retry_after: 0.1, global: false } });
    const before = h.standin.calls.length;
    const ok = await general().send('after 429');
    expect(h.standin.calls.slice(before).map((c) => c.status)).toEqual([429, 200]);
    expect(h.standin.messages.get(ok.id)?.content).toBe('after 429');
  });

  it('answers 10003 for a deleted channel and 404 for unknown routes', async () => {
    h.standin.deleteChannel(STANDIN_IDS.second);
    const err = await rejectionOf(h.client.rest.post(Routes.channelMessages(STANDIN_IDS.second), { body: { content: 'x' } }), DiscordAPIError);
    expect([err.status, err.code]).toEqual([404, 10003]);
    const unknown = await rejectionOf(h.client.rest.get('/nope/route'), DiscordAPIError);
    expect([unknown.status, unknown.code]).toEqual([404, 0]);
    expect(h.standin.calls.at(-1)).toMatchObject({ method: 'GET', path: '/nope/route', status: 404 });
  });

  it('forwards a message: empty content of its own, reference type FORWARD and a snapshot discord.js reads', async () => {
    const source = h.standin.userMessage({ content: 'look at this', userId: STANDIN_IDS.bob, attachments: [{ filename: 'cat.png', contentType: 'image/png', size: 1234, width: 640, height: 480 }] });
    const got = nextEvent(h.client, 'messageCreate', (m) => m.channel.type === ChannelType.DM && m.reference?.messageId === source.id);
    const fwd = h.standin.userMessage({ forward: true, referenceId: source.id, guildId: null });
    const [message] = await got;
    expect(message.id).toBe(fwd.id);
    expect(message.content).toBe('');
    expect(message.attachments.size).toBe(0);
    expect(message.type).toBe(MessageType.Default);
    expect(message.flags.has(MessageFlags.HasSnapshot)).toBe(true);
    expect(message.reference).toMatchObject({ type: MessageReferenceType.Forward, messageId: source.id, channelId: STANDIN_IDS.general, guildId: STANDIN_IDS.guild });
    expect(message.mentions.users.size).toBe(0);
    const snapshot = message.messageSnapshots.get(source.id);
    expect(snapshot?.content).toBe('look at this');
    expect(snapshot?.attachments.first()).toMatchObject({ name: 'cat.png', contentType: 'image/png', width: 640 });
    expect(h.standin.messages.get(fwd.id)).toMatchObject({ type: 0, messageReference: { type: 1, message_id: source.id }, messageSnapshots: [{ content: 'look at this' }] });
    // A reply is a DEFAULT reference that carries the replied-to message instead.
    const replied = nextEvent(h.client, 'messageCreate', (m) => m.content === 'a reply');
    h.standin.userMessage({ content: 'a reply', referenceId: source.id });
    const [reply] = await replied;
    expect(reply.reference?.type).toBe(MessageReferenceType.Default);
    expect(reply.messageSnapshots.size).toBe(0);
    expect(reply.type).toBe(MessageType.Reply);
    expect(() => h.standin.userMessage({ forward: true, referenceId: source.id, content: 'with words' })).toThrow(/no content/);
    expect(() => h.standin.userMessage({ forward: true })).toThrow(/referenceId/);
  });

  it('redelivers a MESSAGE_CREATE with the same id (discord.js itself drops a copy of a cached user message)', async () => {
    const raw: string[] = [];
    const onRaw = (packet: { t?: string; d?: { id?: string } }): void => {
      if (packet.t === 'MESSAGE_CREATE' && packet.d?.id) raw.push(packet.d.id);
    };
    h.client.on('raw', onRaw);
    const emitted: Message[] = [];
    const onCreate = (m: Message): void => void emitted.push(m);
    h.client.on('messageCreate', onCreate);
    try {
      const sent = h.standin.userMessage({ content: 'say it twice' });
      await h.standin.waitFor(() => emitted.some((m) => m.id === sent.id), 2000);
      h.standin.redeliverMessage(sent.id);
      const sentinel = h.standin.userMessage({ content: 'after the copy' });
      await h.standin.waitFor(() => emitted.some((m) => m.id === sentinel.id), 2000);
      expect(raw.filter((id) => id === sent.id)).toHaveLength(2);
      expect(emitted.filter((m) => m.id === sent.id)).toHaveLength(1);
      expect(() => h.standin.redeliverMessage('1')).toThrow(/unknown message/);
    } finally {
      h.client.off('raw', onRaw);
      h.client.off('messageCreate', onCreate);
    }
  });

  it('redelivers an INTERACTION_CREATE with the same id and token; the second callback gets 40060', async () => {
    const seen: ChatInputCommandInteraction[] = [];
    const { id, token } = h.standin.slashCommand({ name: 'video', options: [{ name: 'prompt', type: 3, value: 'twice' }] });
    const onInteraction = (i: unknown): void => void seen.push(i as ChatInputCommandInteraction);
    h.client.on('interactionCreate', onInteraction);
    try {
      h.standin.redeliverInteraction(id);
      await h.standin.waitFor(() => seen.length >= 1, 2000);
      await seen[0]!.reply('first');
      await h.standin.waitFor(() => seen.length === 2, 2000);
      expect(seen.map((i) => [i.id, i.token])).toEqual([[id, token], [id, token]]);
      expect(seen[1]!.options.getString('prompt')).toBe('twice');
      const err = await rejectionOf(seen[1]!.reply('second'), DiscordAPIError);
      expect([err.status, err.code]).toEqual([400, 40060]);
      expect(h.standin.interactionResponses.get(id)).toMatchObject({ type: 4 });
      expect(() => h.standin.redeliverInteraction('1')).toThrow(/unknown interaction/);
    } finally {
      h.client.off('interactionCreate', onInteraction);
    }
  });

  it('resumes after op 7 and replays missed events', async () => {
    const resumed = nextEvent(h.client, 'shardResume');
    const got = nextEvent(h.client, 'messageCreate', (m) => m.content === 'while away');
    h.standin.requestReconnect();
    await h.standin.waitFor(() => !h.standin.gatewayConnected, 2000);
    h.standin.userMessage({ content: 'while away' });
    await resumed;
    await got;
    expect(h.standin.gatewayReceived.filter((r) => r.op === 2)).toHaveLength(1);
    expect(h.standin.gatewayReceived.some((r) => r.op === 6)).toBe(true);
  });
});

describe('discord stand-in login and intents', () => {
  it('rejects a wrong token at login', async () => {
    const { startDiscordStandin } = await import('./discord-standin.js');
    const standin = await startDiscordStandin();
    const { client } = makeClient(standin);
    await expect(client.login('wrong-token')).rejects.toThrow();
    expect(standin.calls[0]).toMatchObject({ path: '/gateway/bot', status: 401 });
    await client.destroy();
    await standin.close();
  });

  it('hides content without the MessageContent intent unless the bot is mentioned', async () => {
    const h = await startHarness({ intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages] });
    try {
      const seen: string[] = [];
      h.client.on('messageCreate', (m) => seen.push(m.content));
      h.standin.userMessage({ content: 'secret' });
      h.standin.userMessage({ content: 'hello', mentionBot: true });
      await h.standin.waitFor(() => seen.length === 2, 2000);
      expect(seen).toEqual(['', `<@${h.standin.botUserId}> hello`]);
    } finally {
      await h.close();
    }
  });
  it('puts the replied-to author in mentions only for a pinging reply; without Message Content only that one is readable', async () => {
    const h = await startHarness({ intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.DirectMessages] });
    try {
      const general = h.client.channels.cache.get(STANDIN_IDS.general) as TextChannel;
      const root = await general.send('a bot message');
      const seen = new Map<string, Message>();
      // discord.js caches a snapshot as the forwarded message itself (later forwards patch it), so read it on arrival.
      const snapshots = new Map<string, string | undefined>();
      h.client.on('messageCreate', (m) => {
        if (m.author.id === h.standin.botUserId) return;
        seen.set(m.id, m);
        snapshots.set(m.id, m.messageSnapshots.first()?.content);
      });
      const pinging = h.standin.userMessage({ content: 'with ping', referenceId: root.id });
      const quiet = h.standin.userMessage({ content: 'no ping', referenceId: root.id, replyPing: false, attachments: [{ filename: 'cat.png', contentType: 'image/png', size: 10 }] });
      const fwd = h.standin.userMessage({ forward: true, referenceId: root.id });
      const dmFwd = h.standin.userMessage({ forward: true, referenceId: root.id, guildId: null });
      await h.standin.waitFor(() => seen.size === 4, 2000);
      const p = seen.get(pinging.id)!;
      expect(p.content).toBe('with ping');
      expect([...p.mentions.users.keys()]).toEqual([h.standin.botUserId]);
      const q = seen.get(quiet.id)!;
      expect([q.content, q.attachments.size]).toEqual(['', 0]);
      expect(q.mentions.users.size).toBe(0);
      expect(q.mentions.repliedUser?.id).toBe(h.standin.botUserId);
      expect(q.reference?.messageId).toBe(root.id);
      // A forward's snapshot is content too: hidden in a guild, shown in a DM.
      expect(snapshots.get(fwd.id)).toBe('');
      expect(snapshots.get(dmFwd.id)).toBe('a bot message');
    } finally {
      await h.close();
    }
  });

  it('closes the gateway with 4014 when privileged intents are not enabled', async () => {
    const { startDiscordStandin } = await import('./discord-standin.js');
    const standin = await startDiscordStandin({ privilegedIntentsEnabled: false });
    const { client } = makeClient(standin);
    await expect(client.login(standin.token)).rejects.toThrow(/disallowed intents/i);
    await client.destroy();
    await standin.close();
  });

  it('withholdReady: the next IDENTIFY goes unanswered (heartbeats still acked), the one after gets READY', async () => {
    const { startDiscordStandin } = await import('./discord-standin.js');
    const standin = await startDiscordStandin();
    // A raw socket: discord.js's own destroy() hangs when called while it waits for READY (see the README).
    const open = async () => {
      const ws = new WebSocket(`${standin.url.replace(/^http/, 'ws')}/gateway?v=10&encoding=json`);
      const frames: { op: number; t: string | null }[] = [];
      ws.on('message', (data: Buffer) => frames.push(JSON.parse(data.toString()) as { op: number; t: string | null }));
      await new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
      const identify = () => ws.send(JSON.stringify({ op: 2, d: { token: standin.token, intents: 513, properties: {} } }));
      const heartbeat = () => ws.send(JSON.stringify({ op: 1, d: null }));
      return { ws, frames, identify, heartbeat };
    };
    try {
      standin.withholdReady(1);
      const first = await open();
      first.identify();
      first.heartbeat();
      await standin.waitFor(() => first.frames.some((f) => f.op === 11), 2000);
      await new Promise((r) => setTimeout(r, 100));
      expect(first.frames.map((f) => f.op)).toEqual([10, 11]);
      expect([standin.readyWithheld, standin.readyCount, standin.gatewayConnected]).toEqual([1, 0, false]);
      await expect(standin.waitForReady(100)).rejects.toThrow(/no bot became ready/);
      first.ws.close(1000);

      const second = await open();
      second.identify();
      await standin.waitForReady(2000);
      await standin.waitFor(() => second.frames.some((f) => f.t === 'GUILD_CREATE'), 2000);
      expect(second.frames.filter((f) => f.op === 0).map((f) => f.t)).toEqual(['READY', 'GUILD_CREATE']);
      expect([standin.readyWithheld, standin.readyCount, standin.gatewayConnected]).toEqual([1, 1, true]);
      second.ws.close(1000);

      standin.withholdReady(Infinity);
      const third = await open();
      third.identify();
      await standin.waitFor(() => standin.readyWithheld === 2, 2000);
      standin.withholdReady(0);
      third.ws.close(1000);
      const fourth = await open();
      fourth.identify();
      await standin.waitFor(() => standin.readyCount === 2, 2000);
      fourth.ws.close(1000);
      expect(() => standin.withholdReady(-1)).toThrow(TypeError);
      expect(() => standin.withholdReady(1.5)).toThrow(TypeError);
    } finally {
      await standin.close();
    }
  });

  it('acknowledges heartbeats so the shard stays connected', async () => {
    const h = await startHarness({ heartbeatIntervalMs: 40 });
    try {
      await h.standin.waitFor(() => h.standin.gatewayReceived.filter((r) => r.op === 1).length >= 3, 2000);
      expect(h.standin.gatewayReceived.filter((r) => r.op === 2 || r.op === 6)).toHaveLength(1);
      expect(h.client.ws.ping).toBeGreaterThanOrEqual(0);
    } finally {
      await h.close();
    }
  });

  it('drops a DM from an uncached channel without Partials.Channel, like discord.js does', async () => {
    const h = await startHarness({ partials: [] });
    try {
      const seen: string[] = [];
      h.client.on('messageCreate', (m) => seen.push(m.content));
      h.standin.userMessage({ content: 'dm', guildId: null });
      h.standin.userMessage({ content: 'guild' });
      await h.standin.waitFor(() => seen.length >= 1, 2000);
      await new Promise((r) => setTimeout(r, 50));
      expect(seen).toEqual(['guild']);
    } finally {
      await h.close();
    }
  });
});
