/**
 * Discord sharding end to end: the real bot running two shards in one process,
 * `auto` (the count from GET /gateway/bot, read again when Discord closes a
 * shard for good), and two bot processes splitting the shards over one SQLite
 * file, with a job taken over by the instance that doesn't run its server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDS, STRING, botMessages, createWorld, creates, videoFor } from './bot-world.js';
import type { World, WorldBot } from './bot-world.js';
import { shardOfGuild } from './standin/discord-standin.js';
import type { StandinMessage } from './standin/discord-standin.js';
import { until } from '../helpers/until.js';

/** On shard 0 of 2 ((id >> 22) % 2); the world's own guild (IDS.guild) is on shard 1. */
const EVEN_GUILD = '800000000004194305';
const EVEN_CHANNEL = '810000000004194305';
const evenGuild = { id: EVEN_GUILD, name: 'Even', premiumTier: 2 as const, channels: [{ id: EVEN_CHANNEL, name: 'general' }] };

const prompt = (value: string) => ({ name: 'prompt', type: STRING, value });
const identifies = (w: World) => w.discord.gatewayReceived.filter((r) => r.op === 2).map((r) => (r.d as { shard: [number, number] }).shard);
const gatewayBotCalls = (w: World) => w.discord.calls.filter((c) => c.path === '/gateway/bot').length;
const mp4s = (w: World, channelId: string) => botMessages(w, channelId).filter((m) => m.attachments.some((a) => a.filename.endsWith('.mp4')));

/** /video in a server; resolves with the MP4 message once delivered. */
async function videoIn(w: World, guildId: string, text: string): Promise<StandinMessage> {
  const { id } = w.discord.slashCommand({ name: 'video', guildId, options: [prompt(text)] });
  const response = await w.discord.waitFor(() => w.discord.interactionResponses.get(id));
  return w.discord.waitFor(() => videoFor(w, response.messageId!), 20_000);
}

/** GET /readyz of the bot whose output this is (its health port is in the "running" line). */
async function readyz(output: string): Promise<number> {
  const port = [...output.matchAll(/"health":(\d+)/g)].at(-1)?.[1];
  if (!port) throw new Error(`no health port in the bot's output:\n${output}`);
  return (await fetch(`http://127.0.0.1:${port}/readyz`)).status;
}

describe('one process running two shards (DISCORD_SHARD_COUNT=2)', () => {
  let w: World;
  beforeAll(async () => {
    expect([shardOfGuild(IDS.guild, 2), shardOfGuild(EVEN_GUILD, 2)]).toEqual([1, 0]);
    w = await createWorld({ extraGuilds: [evenGuild], standin: { maxConcurrency: 2 }, env: { DISCORD_SHARD_COUNT: '2' } });
    await w.startBot();
  }, 60_000);
  afterAll(async () => {
    await w?.close();
  });

  it('identifies both shards and is ready once both are', async () => {
    expect(identifies(w).sort()).toEqual([[0, 2], [1, 2]]);
    expect(w.output()).toMatch(/"shards":\[0,1\],"shardCount":2,"msg":"connected to Discord"/);
    expect(await readyz(w.output())).toBe(200);
  });

  it('delivers /video from a server on each shard, a mention and a DM (shard 0)', async () => {
    const before = creates(w);
    const [odd, even] = await Promise.all([videoIn(w, IDS.guild, 'an odd fox'), videoIn(w, EVEN_GUILD, 'an even fox')]);
    expect([odd.channelId, even.channelId]).toEqual([IDS.general, EVEN_CHANNEL]);
    const mention = w.discord.userMessage({ channelId: EVEN_CHANNEL, content: 'a mentioned owl', mentionBot: true });
    const dm = w.discord.userMessage({ guildId: null, content: 'a dm owl' });
    for (const m of [mention, dm]) {
      const progress = await w.discord.waitFor(() => botMessages(w, m.channelId).find((b) => b.messageReference?.message_id === m.id), 10_000);
      await w.discord.waitFor(() => videoFor(w, progress.id), 20_000);
    }
    expect(creates(w)).toBe(before + 4);
    expect([mp4s(w, IDS.general), mp4s(w, EVEN_CHANNEL)].map((l) => l.length)).toEqual([1, 2]);
  });

  it('resumes a shard Discord closed, and is ready again', async () => {
    const resumes = w.discord.gatewayReceived.filter((r) => r.op === 6).length;
    w.discord.closeGateway(4000, 1);
    await w.discord.waitFor(() => w.discord.gatewayReceived.filter((r) => r.op === 6).length > resumes);
    await until(async () => (await readyz(w.output())) === 200);
    expect(identifies(w)).toHaveLength(2);
    await videoIn(w, IDS.guild, 'after the resume');
  });
});

describe("DISCORD_SHARD_COUNT=auto (the default): the count from GET /gateway/bot", () => {
  let w: World;
  beforeAll(async () => {
    w = await createWorld({ extraGuilds: [evenGuild], standin: { maxConcurrency: 2, recommendedShards: 1 } });
    await w.startBot();
  }, 60_000);
  afterAll(async () => {
    await w?.close();
  });

  it('runs the recommended shard, asking /gateway/bot once', async () => {
    expect(identifies(w)).toEqual([[0, 1]]);
    expect(gatewayBotCalls(w)).toBe(1);
    await videoIn(w, EVEN_GUILD, 'one shard');
  });

  it('after 4011 Sharding required connects again, with the new recommended count', async () => {
    w.discord.setRecommendedShards(2);
    const seen: number[] = [];
    expect(w.discord.closeGateway(4011)).toBe(1);
    // Not ready while it reconnects (a fresh client, after about a second), then ready with two shards.
    await until(async () => {
      seen.push(await readyz(w.output()));
      return seen.includes(503) && seen.at(-1) === 200;
    }, 20_000);
    expect(identifies(w).slice(1).sort()).toEqual([[0, 2], [1, 2]]);
    expect(gatewayBotCalls(w)).toBe(2);
    expect(w.output()).toContain('lost the connection to Discord');
    const before = creates(w);
    await Promise.all([videoIn(w, IDS.guild, 'odd after resharding'), videoIn(w, EVEN_GUILD, 'even after resharding')]);
    expect(creates(w)).toBe(before + 2);
  });
});

describe('two processes, DISCORD_SHARDS=0 and DISCORD_SHARDS=1, on one SQLite file', () => {
  let w: World;
  let zero: WorldBot;
  let one: WorldBot;
  beforeAll(async () => {
    w = await createWorld({ extraGuilds: [evenGuild], standin: { maxConcurrency: 2 }, env: { DISCORD_SHARD_COUNT: '2', LEASE_SECONDS: '3' } });
    zero = w.anotherBot();
    one = w.anotherBot();
    await Promise.all([zero.start({ DISCORD_SHARDS: '0' }), one.start({ DISCORD_SHARDS: '1' })]);
  }, 60_000);
  afterAll(async () => {
    await w?.close();
  });

  it('each instance runs its shard and gets its servers', async () => {
    expect(identifies(w).sort()).toEqual([[0, 2], [1, 2]]);
    expect(zero.output()).toMatch(/"guilds":1,"shards":\[0\],"shardCount":2/);
    expect(one.output()).toMatch(/"guilds":1,"shards":\[1\],"shardCount":2/);
    expect([await readyz(zero.output()), await readyz(one.output())]).toEqual([200, 200]);
  });

  it('creates and delivers each job once, from servers on both shards and a DM', async () => {
    const before = creates(w);
    await Promise.all([videoIn(w, IDS.guild, 'odd twin'), videoIn(w, EVEN_GUILD, 'even twin'), videoIn(w, IDS.guild, 'odd twin 2'), videoIn(w, EVEN_GUILD, 'even twin 2')]);
    const dm = w.discord.userMessage({ guildId: null, content: 'a dm to the shard 0 instance' });
    const progress = await w.discord.waitFor(() => botMessages(w, dm.channelId).find((b) => b.messageReference?.message_id === dm.id), 10_000);
    await w.discord.waitFor(() => videoFor(w, progress.id), 20_000);
    // Let any second copy show up before counting.
    await new Promise((r) => setTimeout(r, 1500));
    expect(creates(w)).toBe(before + 5);
    expect([mp4s(w, IDS.general), mp4s(w, EVEN_CHANNEL), mp4s(w, dm.channelId)].map((l) => l.length)).toEqual([2, 2, 1]);
  });

  it("takes over a job when its instance dies, looking up the server's boost tier over REST", async () => {
    const before = creates(w);
    const submitted = () => zero.output().split('"msg":"submitted"').length;
    const wasSubmitted = submitted();
    const mention = w.discord.userMessage({ channelId: EVEN_CHANNEL, content: 'a crash test dummy', mentionBot: true });
    const progress = await w.discord.waitFor(() => botMessages(w, EVEN_CHANNEL).find((b) => b.messageReference?.message_id === mention.id), 10_000);
    // Killed once the submit is on record (killed mid-submit, the job would end as "may have been submitted").
    await w.discord.waitFor(() => submitted() > wasSubmitted, 10_000);
    // The shard 0 instance started it; the shard 1 instance (without that server in its cache) finishes it.
    await zero.stop('SIGKILL');
    const vid = await w.discord.waitFor(() => videoFor(w, progress.id), 30_000);
    expect(vid.attachments).toHaveLength(1);
    expect(w.discord.calls.some((c) => c.method === 'GET' && c.path === `/guilds/${EVEN_GUILD}` && c.status === 200)).toBe(true);
    await new Promise((r) => setTimeout(r, 1000));
    expect(creates(w)).toBe(before + 1);
    expect(mp4s(w, EVEN_CHANNEL).filter((m) => m.messageReference?.message_id === progress.id)).toHaveLength(1);
  });
});
