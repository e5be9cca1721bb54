/**
 * Scale-out end to end: two real bot processes on one real redis-server, each
 * running one of two Discord shards and one Slack Socket Mode connection (the
 * Slack stand-in spreads envelopes between them, as Slack does). Jobs come from
 * a server on each shard and from Slack; one instance is SIGKILLed while they
 * render. Every job is created once at the provider and delivered once, by the
 * survivor for the victim's jobs, and status requests per job stay within 1.2x
 * of a single instance running the same jobs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDS, STRING, botMessages, createWorld, creates } from './discord/bot-world.js';
import type { World, WorldBot } from './discord/bot-world.js';
import { shardOfGuild } from './discord/standin/discord-standin.js';
import { startRedis } from './helpers/redis.js';
import type { RedisServer } from './helpers/redis.js';
import { startSlackStandin } from './slack/standin/slack-standin.js';
import type { SlackMessage, SlackStandin } from './slack/standin/slack-standin.js';
import { CALLBACKS } from '../src/surfaces/slack/slack-refs.js';
import { until } from './helpers/until.js';

/** On shard 0 of 2 ((id >> 22) % 2); the world's own guild (IDS.guild) is on shard 1. */
const EVEN_GUILD = '800000000004194305';
const EVEN_CHANNEL = '810000000004194305';
const evenGuild = { id: EVEN_GUILD, name: 'Even', premiumTier: 2 as const, channels: [{ id: EVEN_CHANNEL, name: 'general' }] };
const SLACK_CHANNEL = 'C0GENERAL';
const SLACK_USERS = ['U0ALICE', 'U0BOB'];

/** "crash" prompts render for 3 s in the world's emulator: long enough to kill an instance meanwhile. */
const PER_PLACE = 3;

interface Asked {
  place: 'even' | 'odd' | 'slack';
  prompt: string;
  /** Discord: the progress message id; Slack: the progress message's ts. */
  progress?: string;
}

const statusPolls = (w: World, prompts: string[]) => {
  const jobs = [...w.emulator.jobs.values()].filter((j) => prompts.includes(String((j.body as { prompt?: string }).prompt)));
  return { jobs: jobs.length, polls: jobs.reduce((n, j) => n + j.statusPolls, 0) };
};
const createsOf = (w: World, prompt: string) => w.emulator.requests.filter((r) => r.method === 'POST' && (r.body as { prompt?: string }).prompt === prompt).length;
const mp4sFor = (w: World, channelId: string, progressId: string) =>
  botMessages(w, channelId).filter((m) => m.messageReference?.message_id === progressId && m.attachments.some((a) => a.filename.endsWith('.mp4')));
const slackProgress = (slack: SlackStandin, prompt: string): SlackMessage | undefined =>
  slack.messages.find((m) => m.channel === SLACK_CHANNEL && !m.threadTs && m.user === slack.botUserId && m.history.some((h) => h.text.includes(prompt)));
const slackVideos = (slack: SlackStandin, ts: string) => slack.messages.filter((m) => m.channel === SLACK_CHANNEL && m.threadTs === ts && m.files.some((f) => f.name.endsWith('.mp4')));
/** Jobs a bot admitted, from its log. */
const admitted = (bot: WorldBot) => [...bot.output().matchAll(/"jobId":"([^"]+)"[^\n]*"msg":"job admitted"/g)].map((m) => m[1]!);

describe('two instances on one Redis: Discord on two shards and Slack', () => {
  let redis: RedisServer;
  let slack: SlackStandin;
  let w: World;

  beforeAll(async () => {
    expect([shardOfGuild(EVEN_GUILD, 2), shardOfGuild(IDS.guild, 2)]).toEqual([0, 1]);
    redis = await startRedis();
    slack = await startSlackStandin();
    w = await createWorld({
      extraGuilds: [evenGuild],
      standin: { maxConcurrency: 2 },
      env: {
        DISCORD_SHARD_COUNT: '2',
        LEASE_SECONDS: '3',
        MAX_JOBS_PER_USER: '10',
        SLACK_BOT_TOKEN: slack.botToken,
        SLACK_APP_TOKEN: slack.appToken,
        SLACK_API_URL: `${slack.url}/api/`,
        SLACK_PROGRESS_INTERVAL_MS: '200',
      },
    });
  }, 60_000);
  afterAll(async () => {
    await w?.close();
    await slack?.close();
    await redis?.stop();
  });

  /** Asks for PER_PLACE videos in each place; resolves once each has its progress message. */
  async function ask(tag: string): Promise<Asked[]> {
    const asked: Asked[] = [];
    for (let n = 0; n < PER_PLACE; n++) {
      for (const place of ['even', 'odd', 'slack'] as const) asked.push({ place, prompt: `crash ${tag} ${place} ${n}` });
    }
    await Promise.all(
      asked.map(async (a, i) => {
        if (a.place === 'slack') {
          await slack.socket.command({ command: CALLBACKS.command, text: a.prompt, userId: SLACK_USERS[i % 2]!, channelId: SLACK_CHANNEL });
          a.progress = (await slack.waitFor(() => slackProgress(slack, a.prompt), 10_000)).ts;
        } else {
          const guildId = a.place === 'even' ? EVEN_GUILD : IDS.guild;
          const { id } = w.discord.slashCommand({ name: 'video', guildId, options: [{ name: 'prompt', type: STRING, value: a.prompt }] });
          a.progress = (await w.discord.waitFor(() => w.discord.interactionResponses.get(id), 10_000)).messageId!;
        }
      }),
    );
    return asked;
  }

  const delivered = (a: Asked) =>
    a.place === 'slack' ? slackVideos(slack, a.progress!).length : mp4sFor(w, a.place === 'even' ? EVEN_CHANNEL : IDS.general, a.progress!).length;

  let baseline: number | undefined;

  it('one instance running both shards and Slack: the baseline', async () => {
    const solo = w.anotherBot();
    await solo.start({ STORE_URL: redis.url({ prefix: 'solo' }), DISCORD_SHARDS: '0,1' });
    await slack.waitFor(() => slack.socket.connections === 1, 10_000);
    const asked = await ask('solo');
    await until(() => asked.every((a) => delivered(a) === 1), 30_000, 'every solo job delivered');
    const { jobs, polls } = statusPolls(
      w,
      asked.map((a) => a.prompt),
    );
    expect(jobs).toBe(asked.length);
    baseline = polls / jobs;
    await solo.stop('SIGTERM');
    await slack.waitFor(() => slack.socket.connections === 0, 10_000);
  });

  it('two instances: each job created once and delivered once, the killed instance’s by the survivor, within 1.2x the status requests', async () => {
    expect(baseline).toBeDefined();
    const zero = w.anotherBot();
    const one = w.anotherBot();
    const url = redis.url({ prefix: 'pair' });
    await Promise.all([zero.start({ STORE_URL: url, DISCORD_SHARDS: '0' }), one.start({ STORE_URL: url, DISCORD_SHARDS: '1' })]);
    await slack.waitFor(() => slack.socket.connections === 2, 10_000);
    const envelopesBefore = slack.socket.envelopes.length;

    const before = creates(w);
    const asked = await ask('pair');
    await until(() => admitted(zero).length + admitted(one).length === asked.length, 10_000, 'all admitted');
    // Slack spread its envelopes over both connections, so both instances started Slack jobs.
    const slackConnections = new Set(slack.socket.envelopes.slice(envelopesBefore).map((e) => e.connection));
    expect(slackConnections.size).toBe(2);
    // Each server's jobs were started by the instance running its shard.
    const placeOf = (id: string) => redis.command('HGET', `pair:job:${id}`, 'place');
    const places = async (bot: WorldBot) => (await Promise.all(admitted(bot).map(placeOf))).join(' ');
    expect(await places(zero)).toContain(`discord:guild:${EVEN_GUILD}`);
    expect(await places(zero)).not.toContain(`discord:guild:${IDS.guild}`);
    expect(await places(one)).toContain(`discord:guild:${IDS.guild}`);
    expect(await places(one)).not.toContain(`discord:guild:${EVEN_GUILD}`);

    // Every job at the provider (recorded as running) before the kill, so none is left "submit unknown".
    const jobIds = [...admitted(zero), ...admitted(one)];
    const status = (id: string) => redis.command('HGET', `pair:job:${id}`, 'status');
    await until(async () => (await Promise.all(jobIds.map(status))).every((s) => s.includes('running')), 10_000, 'all running');
    expect(creates(w)).toBe(before + asked.length);
    const victimJobs = admitted(zero);
    expect(victimJobs.length).toBeGreaterThan(0);
    await zero.stop('SIGKILL');

    await until(() => asked.every((a) => delivered(a) >= 1), 40_000, 'every job delivered');
    await new Promise((r) => setTimeout(r, 1500)); // let any second copy show up before counting
    for (const a of asked) {
      expect(createsOf(w, a.prompt), a.prompt).toBe(1);
      expect(delivered(a), a.prompt).toBe(1);
    }
    // The survivor took over each of the victim's jobs.
    for (const jobId of victimJobs) expect(one.output()).toMatch(new RegExp(`"jobId":"${jobId}"[^\\n]*"msg":"resuming job"`));

    const { jobs, polls } = statusPolls(
      w,
      asked.map((a) => a.prompt),
    );
    expect(jobs).toBe(asked.length);
    expect(polls / jobs).toBeLessThanOrEqual(1.2 * baseline!);
  });
});
