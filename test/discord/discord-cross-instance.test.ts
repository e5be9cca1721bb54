/**
 * Cancel and Delete from an instance that does not own the job, with two real
 * bot processes on one real Redis. Who handles a click is made certain, not
 * left to the race for the interaction's claim:
 * - unsharded (both get every event): the owner is frozen (SIGSTOP) while the
 *   click arrives, so only the other can claim it; thawed (SIGCONT), the owner
 *   reads the same event too late and must notice on its own that the job was
 *   cancelled: no more status requests, the message left saying cancelled (a
 *   progress edit of its own that landed over it is put right), no delivery;
 * - sharded: the instance of the server's shard is killed mid-render, the other
 *   takes its job over after the lease lapses, and the first comes back with the
 *   same shard, so the Cancel click reaches it while the other owns the job.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDS, STRING, botMessages, createWorld, videoFor } from './bot-world.js';
import type { World, WorldBot } from './bot-world.js';
import type { RedisServer } from '../helpers/redis.js';
import { startRedis } from '../helpers/redis.js';
import { shardOfGuild } from './standin/discord-standin.js';
import type { StandinMessage } from './standin/discord-standin.js';
import { until } from '../helpers/until.js';

/** On shard 0 of 2 ((id >> 22) % 2); the world's own guild (IDS.guild) is on shard 1. */
const EVEN_GUILD = '800000000004194305';
const EVEN_CHANNEL = '810000000004194305';
const evenGuild = { id: EVEN_GUILD, name: 'Even', premiumTier: 2 as const, channels: [{ id: EVEN_CHANNEL, name: 'general' }] };

const prompt = (value: string) => ({ name: 'prompt', type: STRING, value });
const content = (r: { data?: unknown }) => (r.data as { content: string }).content;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Jobs a bot admitted, from its log. */
const admitted = (bot: WorldBot) => [...bot.output().matchAll(/"jobId":"([^"]+)"[^\n]*"msg":"job admitted"/g)].map((m) => m[1]!);
const logged = (bot: WorldBot, jobId: string, msg: string) => new RegExp(`"jobId":"${jobId}"[^\\n]*"msg":"${msg}"`).test(bot.output());
/** The provider's id for a job, from the "submitted" line of the bot that sent it. */
const operationOf = (bot: WorldBot, jobId: string) => new RegExp(`"jobId":"${jobId}"[^\\n]*"operation":"([^"]+)"[^\\n]*"msg":"submitted"`).exec(bot.output())?.[1];

/**
 * Waits until `count()` stays the same for `quietMs` (several poll intervals: POLL_MAX_INTERVAL_MS is 1 s in
 * these tests), giving up after `timeoutMs`; returns the settled count.
 */
async function settles(count: () => number, quietMs: number, timeoutMs: number, what: string): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = count();
  let since = Date.now();
  for (;;) {
    await sleep(100);
    const now = count();
    if (now !== last) [last, since] = [now, Date.now()];
    else if (Date.now() - since >= quietMs) return now;
    if (Date.now() > deadline) throw new Error(`${what} still growing after ${timeoutMs} ms (now ${now})`);
  }
}

/** One field of a job's hash in Redis (undefined when absent). */
async function jobField(redis: RedisServer, prefix: string, jobId: string, field: string): Promise<string | undefined> {
  const answer = await redis.command('HGET', `${prefix}:job:${jobId}`, field);
  const m = /^\$(\d+)\r\n/.exec(answer);
  return m ? answer.slice(m[0].length, m[0].length + Number(m[1])) : undefined;
}

/** /video in a server's channel; resolves with the progress message once its Cancel button is there, and the job id. */
async function startVideo(w: World, text: string, where: { guildId?: string; channelId?: string } = {}): Promise<{ progress: StandinMessage; jobId: string; cancelId: string }> {
  const { id } = w.discord.slashCommand({ name: 'video', options: [prompt(text)], ...where });
  const response = await w.discord.waitFor(() => w.discord.interactionResponses.get(id), 10_000);
  const progress = w.discord.messages.get(response.messageId!)!;
  const cancelId = await w.discord.waitFor(() => /"(sd:cancel:[\w-]+)"/.exec(JSON.stringify(w.discord.messages.get(progress.id)!.components))?.[1], 10_000);
  return { progress, jobId: cancelId.slice('sd:cancel:'.length), cancelId };
}

/** Everything the stand-in saw about one interaction: its callback and its webhook (follow-ups, @original). */
const interactionCalls = (w: World, token: string) => w.discord.calls.filter((c) => c.path.includes(token)).length;
const messageCalls = (w: World, messageId: string) => w.discord.calls.filter((c) => c.path.endsWith(`/messages/${messageId}`));

/**
 * Clicks Cancel as the requester and checks the click's own answer: deferred (ephemeral), then the outcome.
 * Returns the interaction (for redelivery).
 */
async function clickCancel(w: World, progressId: string, cancelId: string): Promise<{ id: string; token: string }> {
  const click = w.discord.clickButton({ messageId: progressId, customId: cancelId });
  const deferred = await w.discord.waitFor(() => w.discord.interactionResponses.get(click.id), 10_000);
  expect(deferred.type).toBe(5);
  await w.discord.waitFor(() => w.discord.messages.get(deferred.messageId!)?.content.includes('may still finish the job and charge'), 10_000);
  return click;
}

/**
 * What the owner must do once another instance cancelled its job: stop asking the provider about it (even once the
 * provider has finished it), leave the message saying cancelled and edit it no more, deliver nothing.
 */
async function expectOwnerLetGo(w: World, owner: WorldBot, s: { jobId: string; operation: string; progressId: string }) {
  const polls = () => w.emulator.jobs.get(s.operation)!.statusPolls;
  const settled = await settles(polls, 2500, 15_000, "the owner's status requests for the cancelled job");
  expect(logged(owner, s.jobId, 'job ended')).toBe(true);
  const edits = w.discord.messages.get(s.progressId)!.history.length;
  // The provider finishes the render after all: nobody asks, so nobody sees it, and nothing is delivered.
  w.emulator.jobs.get(s.operation)!.readyAt = Date.now();
  await sleep(2500);
  expect(polls()).toBe(settled);
  expect(videoFor(w, s.progressId)).toBeUndefined();
  // The progress message says cancelled, without its button, and nobody edits it any more.
  const message = w.discord.messages.get(s.progressId)!;
  expect(message.content).toMatch(/^🛑 Cancelled/);
  expect(message.components).toEqual([]);
  expect(message.history).toHaveLength(edits);
}

describe('unsharded, both instances get every event: the one not owning the job handles the click', () => {
  const PREFIX = 'cross';
  let redis: RedisServer;
  let w: World;
  let a: WorldBot;
  let b: WorldBot;
  beforeAll(async () => {
    redis = await startRedis();
    w = await createWorld({ env: { STORE_URL: redis.url({ prefix: PREFIX }), LEASE_SECONDS: '3' } });
    a = w.anotherBot();
    b = w.anotherBot();
    await Promise.all([a.start(), b.start()]);
  }, 60_000);
  afterAll(async () => {
    w?.discord.setChaos(undefined);
    for (const bot of [a, b]) bot?.signal('SIGCONT');
    await w?.close();
    await redis?.stop();
  });

  /** The bot that admitted the job (its owner), and the other one. */
  async function ownerOf(jobId: string): Promise<[WorldBot, WorldBot]> {
    await until(() => admitted(a).includes(jobId) || admitted(b).includes(jobId), 10_000, `job ${jobId} admitted`);
    return admitted(a).includes(jobId) ? [a, b] : [b, a];
  }

  it('Cancel on a running job: cancelled in the store; the owner stops polling, puts its late progress edit right and delivers nothing', async () => {
    const { progress, jobId, cancelId } = await startVideo(w, 'a slow fox crossing instances');
    const [owner, other] = await ownerOf(jobId);
    await until(() => operationOf(owner, jobId) !== undefined, 10_000, 'submitted');
    const operation = operationOf(owner, jobId)!;
    expect(await jobField(redis, PREFIX, jobId, 'status')).toBe('running');
    // The owner is polling it.
    const polled = w.emulator.jobs.get(operation)!.statusPolls;
    await until(() => w.emulator.jobs.get(operation)!.statusPolls > polled, 10_000, 'the owner polling');

    // The owner's next progress edit is held in the stand-in, so that it lands after the cancel.
    let held = false;
    w.discord.setChaos((req) => {
      if (held || req.method !== 'PATCH' || !req.path.endsWith(`/messages/${progress.id}`)) return undefined;
      held = true;
      return { delayMs: 60_000 };
    });
    await until(() => held, 15_000, "the owner's next progress edit");
    w.discord.setChaos(undefined);

    // Frozen, the owner can't claim the click: the other instance answers it and cancels the job.
    owner.signal('SIGSTOP');
    let click: { id: string; token: string };
    try {
      click = await clickCancel(w, progress.id, cancelId);
      await w.discord.waitFor(() => w.discord.messages.get(progress.id)!.content.startsWith('🛑'), 10_000);
      expect(await jobField(redis, PREFIX, jobId, 'status')).toBe('cancelled');
      // The owner's edit, sent before the cancel, lands after it: for now the message shows progress again.
      w.discord.endDelays();
      await w.discord.waitFor(() => !w.discord.messages.get(progress.id)!.content.startsWith('🛑'), 10_000);
    } finally {
      owner.signal('SIGCONT');
    }
    expect(logged(other, jobId, 'job admitted')).toBe(false);

    // The owner notices, stops, and puts the message right.
    await expectOwnerLetGo(w, owner, { jobId, operation, progressId: progress.id });
    const versions = w.discord.messages.get(progress.id)!.history.map((v) => v.content.slice(0, 2));
    expect(versions.slice(versions.indexOf('🛑')).filter((v) => v !== '🛑').length).toBeGreaterThan(0);
    expect(await jobField(redis, PREFIX, jobId, 'status')).toBe('cancelled');

    // The same interaction again (an overlapping session, a replay): both instances ignore it.
    const [seenInteraction, seenMessage] = [interactionCalls(w, click.token), messageCalls(w, progress.id).length];
    const historyLength = w.discord.messages.get(progress.id)!.history.length;
    w.discord.redeliverInteraction(click.id);
    await sleep(1500);
    expect(interactionCalls(w, click.token)).toBe(seenInteraction);
    expect(messageCalls(w, progress.id)).toHaveLength(seenMessage);
    expect(w.discord.messages.get(progress.id)!.history).toHaveLength(historyLength);
    expect(await jobField(redis, PREFIX, jobId, 'status')).toBe('cancelled');
    for (const bot of [a, b]) expect(bot.output()).not.toContain('interaction failed');
  });

  it('Delete on a delivered video: refused to someone else, done once for the requester', async () => {
    const { progress, jobId } = await startVideo(w, 'a fox to delete from the other instance');
    const [owner] = await ownerOf(jobId);
    const video = await w.discord.waitFor(() => videoFor(w, progress.id), 20_000);
    await until(async () => (await jobField(redis, PREFIX, jobId, 'status')) === 'delivered', 10_000, 'delivered');
    const deleteId = `sd:delete:${jobId}`;
    expect(JSON.stringify(video.components)).toContain(deleteId);
    const deletes = () => w.discord.calls.filter((c) => c.method === 'DELETE' && c.path === `/channels/${IDS.general}/messages/${video.id}`).length;

    owner.signal('SIGSTOP');
    let click: { id: string; token: string };
    try {
      // Bob neither asked for it nor moderates the server.
      const bob = w.discord.clickButton({ messageId: video.id, customId: deleteId, userId: IDS.bob });
      const refused = await w.discord.waitFor(() => w.discord.interactionResponses.get(bob.id), 10_000);
      expect(content(refused)).toContain('Only the person who asked for this video, or a moderator');
      expect((refused.data as { flags: number }).flags & 64).toBe(64);
      expect(w.discord.messages.get(video.id)!.deleted).toBe(false);

      click = w.discord.clickButton({ messageId: video.id, customId: deleteId });
      const deferred = await w.discord.waitFor(() => w.discord.interactionResponses.get(click.id), 10_000);
      await w.discord.waitFor(() => w.discord.messages.get(deferred.messageId!)?.content === 'Deleted.', 10_000);
      expect(w.discord.messages.get(video.id)!.deleted).toBe(true);
    } finally {
      owner.signal('SIGCONT');
    }

    // The thawed owner reads both clicks late, and the same click comes once more: nothing more happens.
    const seenInteraction = interactionCalls(w, click.token);
    w.discord.redeliverInteraction(click.id);
    await sleep(1500);
    expect(deletes()).toBe(1);
    expect(interactionCalls(w, click.token)).toBe(seenInteraction);
    expect(botMessages(w).filter((m) => m.content === 'Deleted.')).toHaveLength(1);
    for (const bot of [a, b]) expect(bot.output()).not.toContain('interaction failed');
  });
});

describe('sharded (DISCORD_SHARDS=0 and 1): Cancel through a restarted instance after the other took its job over', () => {
  const PREFIX = 'takeover';
  let redis: RedisServer;
  let w: World;
  let zero: WorldBot;
  let one: WorldBot;
  beforeAll(async () => {
    expect([shardOfGuild(IDS.guild, 2), shardOfGuild(EVEN_GUILD, 2)]).toEqual([1, 0]);
    redis = await startRedis();
    w = await createWorld({
      extraGuilds: [evenGuild],
      standin: { maxConcurrency: 2 },
      env: { STORE_URL: redis.url({ prefix: PREFIX }), DISCORD_SHARD_COUNT: '2', LEASE_SECONDS: '3' },
    });
    zero = w.anotherBot();
    one = w.anotherBot();
    await Promise.all([zero.start({ DISCORD_SHARDS: '0' }), one.start({ DISCORD_SHARDS: '1' })]);
  }, 60_000);
  afterAll(async () => {
    await w?.close();
    await redis?.stop();
  });

  it("cancels the job the other instance now owns, and that one lets it go", async () => {
    // The server is on shard 0: the shard 0 instance starts (and owns) the job.
    const { progress, jobId, cancelId } = await startVideo(w, 'a slow fox taken over', { guildId: EVEN_GUILD, channelId: EVEN_CHANNEL });
    expect(admitted(zero)).toContain(jobId);
    await until(() => operationOf(zero, jobId) !== undefined, 10_000, 'submitted');
    const operation = operationOf(zero, jobId)!;
    expect(await jobField(redis, PREFIX, jobId, 'status')).toBe('running');
    const firstOwner = await jobField(redis, PREFIX, jobId, 'owner');
    expect(firstOwner).toBeDefined();

    // Killed mid-render: the shard 1 instance takes the job over once the lease has lapsed, and polls it.
    await zero.stop('SIGKILL');
    await until(() => logged(one, jobId, 'resuming job'), 20_000, 'taken over');
    const newOwner = await jobField(redis, PREFIX, jobId, 'owner');
    expect(newOwner).toBeDefined();
    expect(newOwner).not.toBe(firstOwner);
    const polled = w.emulator.jobs.get(operation)!.statusPolls;
    await until(() => w.emulator.jobs.get(operation)!.statusPolls > polled, 10_000, 'the new owner polling');

    // Back with the same shard: it gets the server's events again, but the job stays the other's.
    await zero.start({ DISCORD_SHARDS: '0' });
    expect(w.discord.gatewayShards.filter((g) => g.connected).map((g) => g.shard).sort()).toEqual([[0, 2], [1, 2]]);
    expect(await jobField(redis, PREFIX, jobId, 'owner')).toBe(newOwner);
    expect(logged(zero, jobId, 'resuming job')).toBe(false);

    // The click can only reach the shard 0 instance, which doesn't own the job.
    await clickCancel(w, progress.id, cancelId);
    await w.discord.waitFor(() => w.discord.messages.get(progress.id)!.content.startsWith('🛑'), 10_000);
    expect(await jobField(redis, PREFIX, jobId, 'status')).toBe('cancelled');

    await expectOwnerLetGo(w, one, { jobId, operation, progressId: progress.id });
    expect(await jobField(redis, PREFIX, jobId, 'status')).toBe('cancelled');
    expect(botMessages(w, EVEN_CHANNEL).filter((m) => m.attachments.length)).toEqual([]);
    for (const bot of [zero, one]) expect(bot.output()).not.toContain('interaction failed');
  });
});
