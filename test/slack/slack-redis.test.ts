/**
 * Two Slack bot processes in Socket Mode on one real Redis (STORE_URL=redis://…),
 * each with its own connection to the Slack stand-in, which spreads envelopes
 * between them as Slack does (and retries an unacked event, maybe on the other
 * connection). Every request starts one job (its event or trigger id is claimed
 * in Redis), Cancel and Delete work from the instance that doesn't own the job,
 * and when the instance working on jobs is killed (SIGKILL) mid-render the
 * survivor takes them over: each created once at the provider, delivered once.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIONS, CALLBACKS } from '../../src/surfaces/slack/slack-refs.js';
import { DEFAULT_AIMLAPI_KEY, startProviderEmulator } from '../emulator/provider-emulator.js';
import type { EmulatorJob, ProviderEmulator } from '../emulator/provider-emulator.js';
import { baseBotEnv, botProcess, logLines } from '../helpers/bot-process.js';
import type { BotProcess } from '../helpers/bot-process.js';
import { logProblems } from '../helpers/log-scan.js';
import { startRedis } from '../helpers/redis.js';
import type { RedisServer } from '../helpers/redis.js';
import { startSlackStandin } from './standin/slack-standin.js';
import type { SlackMessage, SlackStandin } from './standin/slack-standin.js';

const GENERAL = 'C0GENERAL';
const ALICE = 'U0ALICE';
const BOB = 'U0BOB';
const ADMIN = 'U0ADMIN';
const PREFIX = 'slack-two';

let redis: RedisServer;
let emulator: ProviderEmulator;
let slack: SlackStandin;
let dataDir: string;
let a: BotProcess;
let b: BotProcess;
/** Each bot's Socket Mode connection (its number at the stand-in, in opening order). */
const conn = new Map<BotProcess, number>();

beforeAll(async () => {
  redis = await startRedis();
  // "slow" renders for a minute (to cancel it meanwhile), "crash" for 5 s (to kill its bot meanwhile).
  emulator = await startProviderEmulator({ renderMs: ({ body }) => (/\bslow\b/.test(String(body.prompt)) ? 60_000 : /\bcrash\b/.test(String(body.prompt)) ? 5000 : 400) });
  slack = await startSlackStandin();
  dataDir = mkdtempSync(join(tmpdir(), 'seedance-slack-redis-'));
  const env = {
    ...baseBotEnv(emulator, dataDir),
    SLACK_BOT_TOKEN: slack.botToken,
    SLACK_APP_TOKEN: slack.appToken,
    SLACK_API_URL: `${slack.url}/api/`,
    SLACK_FILE_HOSTS: '127.0.0.1',
    SLACK_PROGRESS_INTERVAL_MS: '200',
    STORE_URL: redis.url({ prefix: PREFIX }),
    LEASE_SECONDS: '3',
    MAX_JOBS_PER_USER: '8',
  };
  a = botProcess();
  b = botProcess();
  // One after the other, so the stand-in's connection 1 is a's and 2 is b's.
  await a.start(env);
  await slack.waitForSocket(10_000, 1);
  conn.set(a, slack.socket.openConnections[0]!);
  await b.start(env);
  await slack.waitForSocket(10_000, 2);
  conn.set(b, slack.socket.openConnections.find((n) => n !== conn.get(a))!);
}, 60_000);

afterAll(async () => {
  await a?.stop('SIGKILL');
  await b?.stop('SIGKILL');
  await slack?.close();
  await emulator?.close();
  await redis?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  for (const bot of [a, b]) {
    const problem = bot && logProblems(bot.output(), { 'Slack bot token': slack.botToken, 'Slack app token': slack.appToken, 'AIML API key': DEFAULT_AIMLAPI_KEY });
    if (problem) throw new Error(problem);
  }
});

const until = <T>(fn: () => T | undefined | false, ms = 15_000) => slack.waitFor(fn, ms) as Promise<T>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Long enough for a second copy of a job (or a late edit) to show up before counting. */
const SETTLE_MS = 1500;
const creates = () => emulator.count({ kind: 'create' });
const calls = (method: string) => slack.calls.filter((c) => c.method === method);
const botPosts = () => slack.messages.filter((m) => m.channel === GENERAL && m.user === slack.botUserId && !m.ephemeralTo);
/** The bot's first message for a prompt (the progress message), and every such message. */
const progressesFor = (prompt: string) => botPosts().filter((m) => !m.threadTs && m.history[0]!.text.includes(prompt));
const videosIn = (thread: string) => slack.messages.filter((m) => m.channel === GENERAL && m.threadTs === thread && m.files.some((f) => f.name.endsWith('.mp4')));
/** The bot's first message for a mention (its progress message, in the thread of the mention). */
const announcedIn = (thread: string, text: string) => botPosts().filter((m) => m.threadTs === thread && m.files.length === 0 && m.history[0]!.text.includes(text));
const buttonsIn = (thread: string) => botPosts().find((m) => m.threadTs === thread && JSON.stringify(m.blocks ?? []).includes(ACTIONS.delete));
const jobIdOf = (m: SlackMessage, action: string) => new RegExp(`"action_id":"${action}","value":"([\\w-]+)"`).exec(JSON.stringify(m.blocks ?? []))?.[1];
const providerJob = (prompt: string): EmulatorJob | undefined => [...emulator.jobs.values()].find((j) => String(j.body.prompt) === prompt);
const status = async (jobId: string) => (await redis.command('HGET', `${PREFIX}:job:${jobId}`, 'status')).split('\r\n')[1];

const admitted = (bot: BotProcess) => logLines(bot.output()).filter((l) => l.msg === 'job admitted').map((l) => String(l.jobId));
const logged = (bot: BotProcess, msg: string, fields: Record<string, unknown> = {}) => logLines(bot.output()).filter((l) => l.msg === msg && Object.entries(fields).every(([k, v]) => l[k] === v));

/** Polls an async condition every 50 ms. */
async function eventually(fn: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** /video from `user`; resolves with its progress message once posted. */
async function video(prompt: string, user: string, opts: { connection?: number } = {}): Promise<SlackMessage> {
  const sent = await slack.socket.command({ command: CALLBACKS.command, text: prompt, userId: user, channelId: GENERAL }, opts);
  expect(sent.ack).toEqual({});
  return until(() => progressesFor(prompt)[0]);
}

describe('two Slack instances in Socket Mode on one Redis', () => {
  it('each opens its own connection and keeps its jobs in Redis, not in SQLite', async () => {
    expect(calls('apps.connections.open')).toHaveLength(2);
    expect(slack.socket.openConnections).toEqual([conn.get(a), conn.get(b)]);
    expect(await redis.command('KEYS', `${PREFIX}:lease:*`)).toMatch(/^\*2\r\n/);
    expect(existsSync(join(dataDir, 'seedance.sqlite'))).toBe(false);
  });

  it('spreads the events over both connections; every /video and mention starts one job, delivered once', async () => {
    const before = creates();
    const firstEnvelope = slack.socket.envelopes.length;
    const prompts = ['a fox in the snow', 'a heron at dawn', 'a boat on a lake', 'a kite over dunes'];
    const users = [ALICE, BOB, ADMIN, ALICE];
    const progress = [];
    for (const [i, prompt] of prompts.entries()) progress.push(await video(prompt, users[i]!));
    const mentions = ['an owl in the rain', 'a cat on a roof'].map((text, i) => ({ text, ts: `${Math.floor(Date.now() / 1000)}.00090${i}` }));
    for (const m of mentions) await slack.socket.event(slack.socket.appMention({ text: `<@${slack.botUserId}> ${m.text}`, userId: BOB, channelId: GENERAL, ts: m.ts }));

    // Both connections got some of them, and both instances started jobs.
    const used = slack.socket.envelopes.slice(firstEnvelope).map((e) => e.connection);
    expect(new Set(used)).toEqual(new Set([conn.get(a), conn.get(b)]));
    const threads = [...progress.map((p) => p.ts), ...mentions.map((m) => m.ts)];
    for (const ts of threads) await until(() => videosIn(ts)[0], 20_000);
    await sleep(SETTLE_MS);
    expect(creates()).toBe(before + 6);
    for (const prompt of prompts) expect(progressesFor(prompt)).toHaveLength(1);
    for (const m of mentions) expect(announcedIn(m.ts, m.text)).toHaveLength(1);
    for (const ts of threads) expect(videosIn(ts)).toHaveLength(1);
    expect(admitted(a).length).toBeGreaterThan(0);
    expect(admitted(b).length).toBeGreaterThan(0);
    expect(new Set([...admitted(a), ...admitted(b)]).size).toBe(admitted(a).length + admitted(b).length);
  });

  it('starts one job for an event retried on the other connection, for a copy of an event, and for a command delivered twice', async () => {
    const before = creates();
    const ignored = () => logged(a, 'ignored a repeated Slack delivery').length + logged(b, 'ignored a repeated Slack delivery').length;
    const ignoredBefore = ignored();

    // The first delivery reaches a, but its ack is lost: Slack retries on b (retry_attempt 1).
    const ts1 = `${Math.floor(Date.now() / 1000)}.000801`;
    const retried = slack.socket.appMention({ text: `<@${slack.botUserId}> a paper boat`, userId: ALICE, channelId: GENERAL, ts: ts1 });
    const sent = await slack.socket.event(retried, { eventId: 'Ev0REDIS0RETRY', connection: [conn.get(a)!, conn.get(b)!], loseAcks: 1, ackTimeoutMs: 500, retryDelaysMs: [0] });
    expect(sent).toMatchObject({ connection: conn.get(b), retryAttempt: 1 });
    expect(sent.deliveries.map((d) => d.retryReason)).toEqual(['', 'timeout']);

    // The same event (same event_id) on both connections at once.
    const ts2 = `${Math.floor(Date.now() / 1000)}.000802`;
    const copy = slack.socket.appMention({ text: `<@${slack.botUserId}> a copied lantern`, userId: ALICE, channelId: GENERAL, ts: ts2 });
    await Promise.all([conn.get(a)!, conn.get(b)!].map((n) => slack.socket.event(copy, { eventId: 'Ev0REDIS0COPY', connection: n })));

    // A slash command delivered twice (the same trigger_id), once on each connection, at once.
    const prompt = 'a twice told tale';
    const same = { command: CALLBACKS.command, text: prompt, userId: BOB, channelId: GENERAL, triggerId: `${Date.now()}001.1000000001.redis0dup0trigger`, responseUrl: `${slack.url}/hooks/response/${GENERAL}/${BOB}/-/redisdup1` };
    await Promise.all([conn.get(a)!, conn.get(b)!].map((n) => slack.socket.command(same, { connection: n })));

    const progress = await until(() => progressesFor(prompt)[0]);
    for (const ts of [ts1, ts2, progress.ts]) await until(() => videosIn(ts)[0], 20_000);
    await sleep(SETTLE_MS);
    expect(creates()).toBe(before + 3);
    expect(ignored()).toBe(ignoredBefore + 3);
    // a started the retried event (its first delivery); b, which got the retry, ignored it.
    expect(logged(b, 'ignored a repeated Slack delivery', { event: 'slack:event:Ev0REDIS0RETRY' })).toHaveLength(1);
    expect(logged(a, 'ignored a repeated Slack delivery', { event: 'slack:event:Ev0REDIS0RETRY' })).toHaveLength(0);
    expect(progressesFor(prompt)).toHaveLength(1);
    for (const [ts, text] of [
      [ts1, 'a paper boat'],
      [ts2, 'a copied lantern'],
    ] as const) {
      expect(announcedIn(ts, text)).toHaveLength(1);
    }
    for (const ts of [ts1, ts2, progress.ts]) expect(videosIn(ts)).toHaveLength(1);
  });

  it('cancels from the instance that does not own the job: the owner stops polling, the message says cancelled, nothing is delivered', async () => {
    const prompt = 'a slow glacier';
    const progress = await video(prompt, ALICE, { connection: conn.get(a)! });
    const jobId = await until(() => jobIdOf(slack.messages.find((m) => m.ts === progress.ts)!, ACTIONS.cancel));
    expect(admitted(a)).toContain(jobId);
    await eventually(async () => (await status(jobId)) === 'running');
    const job = await until(() => providerJob(prompt));
    await until(() => job.statusPolls > 0);

    const stopped = slack.messages.filter((m) => m.ephemeralTo === ALICE).length;
    const click = slack.socket.blockAction({ actionId: ACTIONS.cancel, value: jobId, userId: ALICE, channelId: GENERAL, messageTs: progress.ts });
    const sent = await slack.socket.interactive(click, { connection: conn.get(b)! });
    expect(sent.connection).toBe(conn.get(b));
    await until(() => slack.messages.filter((m) => m.ephemeralTo === ALICE)[stopped]);
    expect(slack.messages.filter((m) => m.ephemeralTo === ALICE)[stopped]!.text).toContain('Stopped.');
    expect(await status(jobId)).toBe('cancelled');

    // The owner finds out and stops: it logs the job's end, and polls the provider no more.
    await until(() => logged(a, 'job ended', { jobId })[0], 10_000);
    expect(logged(a, 'job ended', { jobId })[0]).toMatchObject({ status: 'cancelled' });
    const message = slack.messages.find((m) => m.ts === progress.ts)!;
    const [polls, edits] = [job.statusPolls, message.history.length];
    await sleep(SETTLE_MS);
    expect(job.statusPolls).toBe(polls);
    // The message ends saying so (the owner shows it again, in case one of its progress edits crossed the
    // cancel), and nothing edits it after that.
    expect(message.history).toHaveLength(edits);
    expect(message.history.at(-1)!.text).toContain('Cancelled');
    expect(JSON.stringify(message.blocks ?? [])).not.toContain(ACTIONS.cancel);
    expect(videosIn(progress.ts)).toHaveLength(0);
    expect(calls('files.completeUploadExternal').filter((c) => c.args.thread_ts === progress.ts)).toHaveLength(0);
  });

  it('deletes a delivered video from the instance that did not deliver it', async () => {
    const prompt = 'a quick hare';
    const progress = await video(prompt, ALICE, { connection: conn.get(a)! });
    const buttons = await until(() => buttonsIn(progress.ts), 20_000);
    const jobId = jobIdOf(buttons, ACTIONS.delete)!;
    expect(admitted(a)).toContain(jobId);
    const [uploaded] = videosIn(progress.ts);
    expect(uploaded).toBeDefined();

    const click = slack.socket.blockAction({ actionId: ACTIONS.delete, value: jobId, userId: ALICE, channelId: GENERAL, messageTs: buttons.ts, threadTs: progress.ts });
    const sent = await slack.socket.interactive(click, { connection: conn.get(b)! });
    expect(sent.connection).toBe(conn.get(b));
    // The other instance found the file the owner uploaded (recorded in Redis) and deleted it, and the buttons.
    await until(() => calls('files.delete').find((c) => c.args.file === uploaded!.files[0]!.id && (c.response as { ok?: boolean }).ok));
    await until(() => slack.messages.find((m) => m.ts === buttons.ts)!.deleted);
    expect(uploaded!.deleted).toBe(true);
    expect(slack.files.has(uploaded!.files[0]!.id)).toBe(false);
    expect(slack.messages.filter((m) => m.ephemeralTo === ALICE && m.threadTs === progress.ts && m.text.includes(':warning:'))).toHaveLength(0);
  });

  it('when the instance working on jobs is killed mid-render, the other takes them over and delivers each once', async () => {
    const before = creates();
    const prompts = [1, 2, 3, 4].map((n) => `crash test dummy ${n}`);
    const victim = a;
    const survivor = b;
    const seen = admitted(victim).length;
    const progress = [];
    for (const [i, prompt] of prompts.entries()) progress.push(await video(prompt, [ALICE, BOB, ADMIN, BOB][i]!, { connection: conn.get(victim)! }));
    await until(() => admitted(victim).length === seen + 4);
    const taken = admitted(victim).slice(seen);
    // At the provider and recorded so (a job killed between its create and that record ends as
    // "submit unknown" by design: it is never sent twice).
    await eventually(async () => (await Promise.all(taken.map(status))).every((s) => s === 'running'));
    expect(creates()).toBe(before + 4);
    await victim.stop('SIGKILL');
    await until(() => slack.socket.connections === 1);

    for (const p of progress) await until(() => videosIn(p.ts)[0], 30_000);
    await sleep(SETTLE_MS);
    expect(creates()).toBe(before + 4); // nothing submitted again
    for (const p of progress) expect(videosIn(p.ts)).toHaveLength(1);
    for (const jobId of taken) {
      expect(logged(survivor, 'resuming job', { jobId })).toHaveLength(1);
      expect(await status(jobId)).toBe('delivered');
    }
    for (const p of progress) expect(slack.messages.find((m) => m.ts === p.ts)!.text).toContain('Done');

    // New requests now all reach the survivor, the only connection left.
    const after = await video('a lone survivor', ALICE);
    await until(() => videosIn(after.ts)[0], 20_000);
    expect(slack.socket.envelopes.at(-1)!.connection).toBe(conn.get(survivor));
  }, 60_000);
});
