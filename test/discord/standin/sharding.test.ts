// Gateway sharding in the stand-in: /gateway/bot's count, IDENTIFY's shard (4010, 4011), READY and events by shard.
import { Client, Events, GatewayIntentBits, Partials, Status } from 'discord.js';
import type { Interaction, Message } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { shardOfGuild, startDiscordStandin, STANDIN_IDS } from './discord-standin.js';
import type { DiscordStandin, GuildSeed } from './discord-standin.js';

/** (id >> 22) % 2: the seeded guild is on shard 1 of 2, this one on shard 0. */
const EVEN_GUILD = '800000000004194305';
const EVEN_CHANNEL = '810000000004194305';
const guilds: GuildSeed[] = [
  { id: STANDIN_IDS.guild, name: 'Odd', channels: [{ id: STANDIN_IDS.general, name: 'general' }] },
  { id: EVEN_GUILD, name: 'Even', channels: [{ id: EVEN_CHANNEL, name: 'general' }] },
];

const open: { standin?: DiscordStandin; clients: Client[]; sockets: WebSocket[] } = { clients: [], sockets: [] };
afterEach(async () => {
  for (const ws of open.sockets.splice(0)) ws.terminate();
  await Promise.all(open.clients.splice(0).map((c) => c.destroy()));
  await open.standin?.close();
  open.standin = undefined;
});

async function standin(opts: Parameters<typeof startDiscordStandin>[0] = {}): Promise<DiscordStandin> {
  open.standin = await startDiscordStandin({ guilds, maxConcurrency: 16, ...opts });
  return open.standin;
}

/** A discord.js client running `shards` of `shardCount` (or 'auto'), logged in and ready; records what reached it. */
async function client(s: DiscordStandin, shards: number[] | 'auto', shardCount?: number) {
  const c = new Client({
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.DirectMessages, GatewayIntentBits.MessageContent],
    partials: [Partials.Channel],
    rest: { api: `${s.url}/api`, retries: 0, timeout: 2000 },
    shards,
    ...(shardCount !== undefined ? { shardCount } : {}),
  });
  open.clients.push(c);
  c.on(Events.Error, () => undefined);
  const got = { interactions: [] as Interaction[], messages: [] as Message[], shardsReady: [] as number[] };
  c.on(Events.InteractionCreate, (i) => void got.interactions.push(i));
  c.on(Events.MessageCreate, (m) => void got.messages.push(m));
  c.on(Events.ShardReady, (id) => void got.shardsReady.push(id));
  const ready = new Promise<void>((resolve) => c.once(Events.ClientReady, () => resolve()));
  await c.login(s.token);
  await ready;
  return { c, got };
}

/** A raw gateway socket that IDENTIFYs with `shard` (omitted when undefined); resolves with the close code or the dispatches. */
async function identifyRaw(s: DiscordStandin, shard: unknown): Promise<{ close?: number; events: { t: string; d: Record<string, unknown> }[] }> {
  const ws = new WebSocket(`${s.url.replace(/^http/, 'ws')}/gateway?v=10&encoding=json`);
  open.sockets.push(ws);
  const events: { t: string; d: Record<string, unknown> }[] = [];
  // Settles on the close, or once READY and a GUILD_CREATE for each of its guilds have come.
  const settled = new Promise<number | undefined>((resolve) => {
    ws.once('close', (code: number) => resolve(code));
    ws.on('message', (data: Buffer) => {
      const f = JSON.parse(data.toString()) as { op: number; t: string; d: Record<string, unknown> };
      if (f.op === 0) events.push({ t: f.t, d: f.d });
      const ready = events.find((e) => e.t === 'READY');
      if (ready && events.length === 1 + (ready.d.guilds as unknown[]).length) resolve(undefined);
    });
  });
  await new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
  ws.send(JSON.stringify({ op: 2, d: { token: s.token, intents: 513, properties: {}, ...(shard !== undefined ? { shard } : {}) } }));
  const close = await settled;
  return { ...(close !== undefined ? { close } : {}), events };
}

describe('stand-in sharding', () => {
  it('answers GET /gateway/bot with the recommended shards and max_concurrency', async () => {
    const s = await standin({ recommendedShards: 3, maxConcurrency: 2 });
    const res = await fetch(`${s.url}/api/v10/gateway/bot`, { headers: { authorization: `Bot ${s.token}` } });
    expect(await res.json()).toMatchObject({ shards: 3, session_start_limit: { max_concurrency: 2 } });
    s.setRecommendedShards(4);
    const again = await fetch(`${s.url}/api/v10/gateway/bot`, { headers: { authorization: `Bot ${s.token}` } });
    expect(await again.json()).toMatchObject({ shards: 4 });
  });

  it('picks the shard by (guild_id >> 22) % count', () => {
    expect([shardOfGuild(STANDIN_IDS.guild, 2), shardOfGuild(EVEN_GUILD, 2), shardOfGuild(undefined, 2)]).toEqual([1, 0, 0]);
    expect(shardOfGuild(STANDIN_IDS.guild, 1)).toBe(0);
  });

  it("discord.js with shards 'auto' runs the recommended count; each shard gets its own servers", async () => {
    const s = await standin({ recommendedShards: 2 });
    const { c, got } = await client(s, 'auto');
    expect(s.gatewayReceived.filter((r) => r.op === 2).map((r) => (r.d as { shard: unknown }).shard).sort()).toEqual([[0, 2], [1, 2]]);
    expect(got.shardsReady.sort()).toEqual([0, 1]);
    expect(c.guilds.cache.get(STANDIN_IDS.guild)?.shardId).toBe(1);
    expect(c.guilds.cache.get(EVEN_GUILD)?.shardId).toBe(0);
    expect(s.gatewayShards.map((x) => x.shard).sort()).toEqual([[0, 2], [1, 2]]);
  });

  it('routes interactions and messages to the shard of their server, and DMs to shard 0', async () => {
    const s = await standin();
    const zero = await client(s, [0], 2);
    const one = await client(s, [1], 2);
    expect([...zero.c.guilds.cache.keys()]).toEqual([EVEN_GUILD]);
    expect([...one.c.guilds.cache.keys()]).toEqual([STANDIN_IDS.guild]);

    const even = s.slashCommand({ name: 'video', guildId: EVEN_GUILD, options: [] });
    const odd = s.slashCommand({ name: 'video', guildId: STANDIN_IDS.guild, options: [] });
    await s.waitFor(() => zero.got.interactions.length === 1 && one.got.interactions.length === 1);
    expect(zero.got.interactions.map((i) => i.id)).toEqual([even.id]);
    expect(one.got.interactions.map((i) => i.id)).toEqual([odd.id]);

    const inEven = s.userMessage({ channelId: EVEN_CHANNEL, content: 'hi even' });
    const inOdd = s.userMessage({ channelId: STANDIN_IDS.general, content: 'hi odd' });
    const dm = s.userMessage({ guildId: null, content: 'hi in a DM' });
    await s.waitFor(() => zero.got.messages.length === 2 && one.got.messages.length === 1);
    expect(zero.got.messages.map((m) => m.id)).toEqual([inEven.id, dm.id]);
    expect(one.got.messages.map((m) => m.id)).toEqual([inOdd.id]);
    await new Promise((r) => setTimeout(r, 100));
    expect([zero.got.messages.length, one.got.messages.length]).toEqual([2, 1]);
  });

  it('refuses to send an event no session would get', async () => {
    const s = await standin();
    await client(s, [1], 2);
    expect(() => s.slashCommand({ name: 'video', guildId: EVEN_GUILD, options: [] })).toThrow(/no bot session gets the events of guild 800000000004194305; sessions hold shards \[1, 2\]/);
    expect(() => s.userMessage({ guildId: null, content: 'dm' })).toThrow(/DMs \(shard 0\)/);
  });

  it('closes an invalid shard with 4010 and keeps the unsharded behaviour without one', async () => {
    const s = await standin();
    for (const bad of [[2, 2], [0, 0], [-1, 2], [0], 'x', [0.5, 2]]) expect((await identifyRaw(s, bad)).close).toBe(4010);
    const plain = await identifyRaw(s, undefined);
    expect(plain.close).toBeUndefined();
    expect(plain.events[0]).toMatchObject({ t: 'READY', d: { shard: [0, 1], guilds: [{ id: STANDIN_IDS.guild }, { id: EVEN_GUILD }] } });
    const zero = await identifyRaw(s, [0, 2]);
    expect(zero.events.map((e) => [e.t, e.d.id ?? e.d.shard])).toEqual([['READY', [0, 2]], ['GUILD_CREATE', EVEN_GUILD]]);
  });

  it('closeGateway: discord.js resumes a shard after 4000 and gives it up after 4010, while isReady() stays true', async () => {
    const s = await standin();
    const { c } = await client(s, [0, 1], 2);
    const resumed = new Promise<number>((resolve) => c.once(Events.ShardResume, (id) => resolve(id)));
    expect(s.closeGateway(4000, 1)).toBe(1);
    expect(await resumed).toBe(1);
    expect(s.gatewayReceived.filter((r) => r.op === 6)).toHaveLength(1);

    const gone = new Promise<[number, number]>((resolve) => c.once(Events.ShardDisconnect, (e, id) => resolve([e.code, id])));
    expect(s.closeGateway(4010, 0)).toBe(1);
    expect(await gone).toEqual([4010, 0]);
    expect(s.gatewayShards.map((x) => x.shard)).toEqual([[1, 2]]);
    expect([c.isReady(), c.ws.shards.get(0)?.status, c.ws.shards.get(1)?.status]).toEqual([true, Status.Disconnected, Status.Ready]);
  });

  it('closes with 4011 Sharding required when one shard would hold too many servers', async () => {
    const s = await standin({ maxGuildsPerShard: 1 });
    expect((await identifyRaw(s, [0, 1])).close).toBe(4011);
    expect((await identifyRaw(s, undefined)).close).toBe(4011);
    expect((await identifyRaw(s, [1, 2])).close).toBeUndefined();
  });
});
