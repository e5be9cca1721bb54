/**
 * Two bot processes on one Redis (STORE_URL=redis://…), both connected to the
 * Discord stand-in as one unsharded bot, so every event reaches both: each
 * request is started by one of them only (the event is claimed in Redis), and
 * when the one working on jobs is killed (SIGKILL) mid-render, the survivor
 * takes them over: every job created once at the provider and delivered once.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDS, STRING, botMessages, createWorld, creates, videoFor } from './bot-world.js';
import type { World, WorldBot } from './bot-world.js';
import type { RedisServer } from '../helpers/redis.js';
import { startRedis } from '../helpers/redis.js';
import { until } from '../helpers/until.js';

const prompt = (value: string) => ({ name: 'prompt', type: STRING, value });
const mp4s = (w: World) => botMessages(w).filter((m) => m.attachments.some((a) => a.filename.endsWith('.mp4')));
/** Jobs a bot admitted, from its log. */
const admitted = (bot: WorldBot) => [...bot.output().matchAll(/"jobId":"([^"]+)"[^\n]*"msg":"job admitted"/g)].map((m) => m[1]!);

/** /video; resolves with the progress message's id. */
async function video(w: World, text: string): Promise<string> {
  const { id } = w.discord.slashCommand({ name: 'video', options: [prompt(text)] });
  const response = await w.discord.waitFor(() => w.discord.interactionResponses.get(id), 10_000);
  return response.messageId!;
}

describe('two bot processes on one Redis', () => {
  let redis: RedisServer;
  let w: World;
  let a: WorldBot;
  let b: WorldBot;
  beforeAll(async () => {
    redis = await startRedis();
    w = await createWorld({ env: { STORE_URL: redis.url({ prefix: 'two-bots' }), LEASE_SECONDS: '3', MAX_JOBS_PER_USER: '4' } });
    a = w.anotherBot();
    b = w.anotherBot();
    await Promise.all([a.start(), b.start()]);
  }, 60_000);
  afterAll(async () => {
    await w?.close();
    await redis?.stop();
  });

  it('both run on the Redis store: a lease each there, no SQLite file', async () => {
    expect(await redis.command('KEYS', 'two-bots:lease:*')).toMatch(/^\*2\r\n/);
    expect(existsSync(join(w.dataDir, 'seedance.sqlite'))).toBe(false);
  });

  it('starts each request once although both bots receive it, and delivers it once', async () => {
    const before = creates(w);
    const progress = await Promise.all(['one', 'two', 'three', 'four'].map((n) => video(w, `a fox number ${n}`)));
    const mention = w.discord.userMessage({ channelId: IDS.general, content: 'a mentioned owl', mentionBot: true });
    const mentionProgress = await w.discord.waitFor(() => botMessages(w).find((m) => m.messageReference?.message_id === mention.id), 10_000);
    for (const id of [...progress, mentionProgress.id]) await w.discord.waitFor(() => videoFor(w, id), 20_000);
    await new Promise((r) => setTimeout(r, 1000)); // let any second copy show up before counting
    expect(creates(w)).toBe(before + 5);
    expect(botMessages(w).filter((m) => m.messageReference?.message_id === mention.id)).toHaveLength(1);
    for (const id of [...progress, mentionProgress.id]) expect(mp4s(w).filter((m) => m.messageReference?.message_id === id)).toHaveLength(1);
    expect(new Set([...admitted(a), ...admitted(b)]).size).toBe(admitted(a).length + admitted(b).length);
  });

  it('when the bot working on jobs is killed mid-render, the other delivers each of them once', async () => {
    const before = creates(w);
    const [seenA, seenB] = [admitted(a).length, admitted(b).length];
    // "crash" prompts render for 3 s, all four at once: long enough to kill their bot meanwhile.
    const progress = await Promise.all([1, 2, 3, 4].map((n) => video(w, `crash test dummy ${n}`)));
    await w.discord.waitFor(() => admitted(a).length + admitted(b).length === seenA + seenB + 4, 10_000);
    const [newA, newB] = [admitted(a).slice(seenA), admitted(b).slice(seenB)];
    // At the provider and recorded so (a job killed between its create and that record ends as
    // "submit unknown" by design: it is never sent twice).
    const statuses = () => Promise.all([...newA, ...newB].map((id) => redis.command('HGET', `two-bots:job:${id}`, 'status')));
    await until(async () => (await statuses()).every((s) => s.includes('running')));
    expect(creates(w)).toBe(before + 4);
    const [victim, survivor, taken] = newA.length >= newB.length ? [a, b, newA] : [b, a, newB];
    expect(taken.length).toBeGreaterThan(0);
    await victim.stop('SIGKILL');

    for (const id of progress) await w.discord.waitFor(() => videoFor(w, id), 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(creates(w)).toBe(before + 4); // nothing submitted again
    for (const id of progress) expect(mp4s(w).filter((m) => m.messageReference?.message_id === id)).toHaveLength(1);
    // The survivor took over the victim's jobs and delivered them.
    for (const jobId of taken) expect(survivor.output()).toMatch(new RegExp(`"jobId":"${jobId}"[^\\n]*"msg":"resuming job"`));
  });
});
