/**
 * The use cases' rules, written once as scenarios over a small driver, and run
 * through both adapters end to end: the real bot process against the Discord
 * stand-in, and against the Slack stand-in. A rule that holds on one platform
 * and not the other fails here.
 *
 * A driver speaks its platform's way in: Discord slash commands, buttons and
 * /video-usage; Slack /video, /video-admin, buttons and the App Home tab (where
 * Slack shows usage). One world per platform, shared by the scenarios; the
 * place's settings are reset after each.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IDS, INTEGER, STRING, createWorld, creates as discordCreates, videoFor } from '../discord/bot-world.js';
import type { World } from '../discord/bot-world.js';
import { ACTIONS, CALLBACKS } from '../../src/surfaces/slack/slack-refs.js';
import { botPosts, createSlackWorld, creates as slackCreates, ephemeralFor, videoIn } from '../slack/slack-world.js';
import type { SlackWorld } from '../slack/slack-world.js';

/** Who acts: the one asking for videos, someone else (no rights), an admin of the place (who also moderates). */
type Role = 'requester' | 'other' | 'admin';
/** Where: the channel the scenarios use, and another one in the same place. */
type Spot = 'main' | 'elsewhere';
type Started = { refused: string } | { progressId: string };

interface VideoDriver {
  /** How refusals name the place: 'server', 'workspace'. */
  placeWord: string;
  channelId(spot: Spot): string;
  open(): Promise<void>;
  close(): Promise<void>;
  /** Creates the provider emulator has received. */
  creates(): number;
  /** Asks for a video; a refusal's text (shown to the asker only), or the progress message it started. */
  startVideo(user: Role, prompt: string, spot: Spot): Promise<Started>;
  waitForVideo(progressId: string): Promise<void>;
  /** The progress message's text now. */
  progressText(progressId: string): string;
  /** Presses Cancel on the progress message; the answer the presser sees. */
  cancel(user: Role, progressId: string): Promise<string>;
  /** The answer to setting the place's daily limit (0 = none). */
  setDailyLimit(user: Role, n: number): Promise<string>;
  /** The answer to allowing videos in `spot` only. */
  allowOnly(user: Role, spot: Spot): Promise<string>;
  showSettings(user: Role): Promise<string>;
  /** Back to every channel and no daily limit. */
  resetSettings(): Promise<void>;
  /** The person's usage today, as the platform shows it to them. */
  usage(user: Role): Promise<string>;
}

const ephemeralFlag = (r: { data?: unknown }) => (((r.data as { flags?: number } | undefined)?.flags ?? 0) & 64) === 64;
const contentOf = (r: { data?: unknown }) => String((r.data as { content?: string } | undefined)?.content ?? '');

function discordDriver(): VideoDriver {
  let w: World;
  const MANAGE_GUILD = String(1 << 5);
  const users: Record<Role, string> = { requester: IDS.alice, other: IDS.bob, admin: '700000000000000009' };
  // The admin's member permissions: Administrator, which implies Manage Server and Manage Messages.
  const perms = (user: Role) => (user === 'admin' ? String((1 << 3) | Number(MANAGE_GUILD)) : '0');
  const channels: Record<Spot, string> = { main: IDS.general, elsewhere: IDS.second };

  async function answer(id: string): Promise<string> {
    const r = await w.discord.waitFor(() => w.discord.interactionResponses.get(id));
    if (r.type === 5) return w.discord.waitFor(() => w.discord.messages.get(r.messageId!)?.content || undefined);
    return contentOf(r);
  }
  const admin = (user: Role, sub: string, options: unknown[] = []) =>
    answer(w.discord.slashCommand({ name: 'video-admin', options: [{ name: sub, type: 1, options }], userId: users[user], permissions: perms(user) }).id);

  return {
    placeWord: 'server',
    channelId: (spot) => channels[spot],
    async open() {
      w = await createWorld();
      await w.startBot();
    },
    close: async () => w?.close(),
    creates: () => discordCreates(w),
    async startVideo(user, prompt, spot) {
      const { id } = w.discord.slashCommand({ name: 'video', options: [{ name: 'prompt', type: STRING, value: prompt }], userId: users[user], channelId: channels[spot], permissions: perms(user) });
      const r = await w.discord.waitFor(() => w.discord.interactionResponses.get(id));
      return ephemeralFlag(r) ? { refused: contentOf(r) } : { progressId: r.messageId! };
    },
    async waitForVideo(progressId) {
      await w.discord.waitFor(() => videoFor(w, progressId), 20_000);
      await w.discord.waitFor(() => w.discord.messages.get(progressId)!.content.includes('Done'), 20_000);
    },
    progressText: (progressId) => w.discord.messages.get(progressId)!.content,
    async cancel(user, progressId) {
      const customId = await w.discord.waitFor(() => /sd:cancel:[\w-]+/.exec(JSON.stringify(w.discord.messages.get(progressId)!.components))?.[0]);
      return answer(w.discord.clickButton({ messageId: progressId, customId, userId: users[user], permissions: perms(user) }).id);
    },
    setDailyLimit: (user, n) => admin(user, 'daily-limit', [{ name: 'limit', type: INTEGER, value: n }]),
    async allowOnly(user, spot) {
      await admin(user, 'channels-clear');
      return admin(user, 'channel-add', [{ name: 'channel', type: 7, value: channels[spot] }]);
    },
    showSettings: (user) => admin(user, 'show'),
    async resetSettings() {
      await admin('admin', 'channels-clear');
      await admin('admin', 'daily-limit', [{ name: 'limit', type: INTEGER, value: 0 }]);
    },
    usage: (user) => answer(w.discord.slashCommand({ name: 'video-usage', userId: users[user], channelId: channels.main, permissions: perms(user) }).id),
  };
}

function slackDriver(): VideoDriver {
  let w: SlackWorld;
  const users: Record<Role, string> = { requester: 'U0ALICE', other: 'U0BOB', admin: 'U0ADMIN' };
  const channels: Record<Spot, string> = { main: 'C0GENERAL', elsewhere: 'C0RANDOM' };
  const names: Record<Spot, string> = { main: 'general', elsewhere: 'random' };
  const until = <T>(fn: () => T | undefined | false, ms = 15_000) => w.slack.waitFor(fn, ms) as Promise<T>;
  let seq = 0;
  const ref = (progressId: string) => {
    const [channel, ts] = progressId.split('/') as [string, string];
    return { channel, ts };
  };

  /** Sends a slash command with a response_url of its own; resolves with what the bot answered through it, or with `other`. */
  async function command<T>(name: string, text: string, user: Role, spot: Spot, other?: () => T | undefined): Promise<{ text: string } | T> {
    seq += 1;
    const path = `/hooks/response/${channels[spot]}/${users[user]}/-/contract${seq}`;
    await w.send.command({ command: name, text, userId: users[user], channelId: channels[spot], responseUrl: `${w.slack.url}${path}` });
    return until(() => {
      const reply = w.slack.calls.find((c) => c.method === 'RESPONSE_URL' && c.path === path);
      return reply ? { text: String(reply.args.text) } : other?.();
    });
  }
  const admin = async (user: Role, text: string) => ((await command(CALLBACKS.adminCommand, text, user, 'main')) as { text: string }).text;

  return {
    placeWord: 'workspace',
    channelId: (spot) => channels[spot],
    async open() {
      w = await createSlackWorld();
      await w.startBot();
    },
    close: async () => w?.close(),
    creates: () => slackCreates(w),
    async startVideo(user, prompt, spot) {
      const channel = channels[spot];
      const r = await command(CALLBACKS.command, prompt, user, spot, () => {
        const progress = botPosts(w, channel).find((m) => !m.threadTs && m.history[0]!.text.includes(prompt));
        return progress && { progressId: `${channel}/${progress.ts}` };
      });
      return 'text' in r ? { refused: r.text } : r;
    },
    async waitForVideo(progressId) {
      const { channel, ts } = ref(progressId);
      await until(() => videoIn(w, channel, ts), 20_000);
      await until(() => w.slack.messages.find((m) => m.ts === ts)!.text.includes('Done'), 20_000);
    },
    progressText: (progressId) => w.slack.messages.find((m) => m.ts === ref(progressId).ts)!.text,
    async cancel(user, progressId) {
      const { channel, ts } = ref(progressId);
      const jobId = await until(() => /"action_id":"sd_cancel","value":"([\w-]+)"/.exec(JSON.stringify(w.slack.messages.find((m) => m.ts === ts)!.blocks ?? []))?.[1]);
      const n = ephemeralFor(w, users[user]).length;
      await w.send.interactive(w.send.blockAction({ actionId: ACTIONS.cancel, value: jobId, userId: users[user], channelId: channel, messageTs: ts }));
      return (await until(() => ephemeralFor(w, users[user])[n])).text;
    },
    setDailyLimit: (user, n) => admin(user, `daily-limit ${n === 0 ? 'off' : n}`),
    async allowOnly(user, spot) {
      await admin(user, 'channels-clear');
      return admin(user, `channel-add <#${channels[spot]}|${names[spot]}>`);
    },
    showSettings: (user) => admin(user, 'show'),
    async resetSettings() {
      for (const c of ['channels-clear', 'daily-limit off']) await admin('admin', c);
    },
    // Slack shows usage on the App Home tab: open it, read what the bot published.
    async usage(user) {
      const before = w.slack.homeViews.length;
      await w.send.event(w.send.appHomeOpened({ userId: users[user], channelId: w.slack.dmChannel(users[user]) }));
      await until(() => w.slack.homeViews.slice(before).some((v) => v.userId === users[user]));
      return w.slack.homeText(users[user]);
    },
  };
}

const madeToday = (usage: string) => {
  const m = /You've made (\d+) videos? today/.exec(usage);
  if (!m) throw new Error(`no usage in: ${usage}`);
  return Number(m[1]);
};
const videos = (n: number) => `${n} video${n === 1 ? '' : 's'}`;

describe.each([
  ['discord', discordDriver],
  ['slack', slackDriver],
] as const)('use cases through the %s adapter', (_platform, make) => {
  const d = make();
  beforeAll(() => d.open(), 60_000);
  afterAll(() => d.close());
  afterEach(() => d.resetSettings());

  it('a start is delivered, with one create', async () => {
    const before = d.creates();
    const r = await d.startVideo('requester', 'contract: a lighthouse at dusk', 'main');
    expect(r).toHaveProperty('progressId');
    await d.waitForVideo((r as { progressId: string }).progressId);
    expect(d.creates()).toBe(before + 1);
  });

  it('a channel not allowed is refused, privately, with no create', async () => {
    expect(await d.allowOnly('admin', 'main')).toContain(`<#${d.channelId('main')}>`);
    const before = d.creates();
    const r = await d.startVideo('requester', 'contract: in the wrong channel', 'elsewhere');
    expect(r).toEqual({ refused: expect.stringContaining(`Videos can be made in <#${d.channelId('main')}>`) });
    expect(d.creates()).toBe(before);
  });

  it("the place's daily limit refuses the extra job; usage shows it", async () => {
    const used = madeToday(await d.usage('requester'));
    const limit = used + 1;
    expect(await d.setDailyLimit('admin', limit)).toContain(`Daily limit per member: ${limit}`);
    const before = d.creates();
    const first = await d.startVideo('requester', 'contract: last one today', 'main');
    expect(first).toHaveProperty('progressId');
    await d.waitForVideo((first as { progressId: string }).progressId);
    const extra = await d.startVideo('requester', 'contract: one too many', 'main');
    expect(extra).toEqual({ refused: expect.stringContaining(`You've made ${videos(limit)} today; this ${d.placeWord} allows ${limit} a day`) });
    expect(d.creates()).toBe(before + 1);
    expect(await d.usage('requester')).toContain(`You've made ${videos(limit)} today (UTC); this ${d.placeWord} allows ${limit} a day.`);
    // The limit is per member: someone who has made fewer still can.
    expect(madeToday(await d.usage('other'))).toBeLessThan(limit);
    const theirs = await d.startVideo('other', 'contract: still allowed', 'main');
    expect(theirs).toHaveProperty('progressId');
    await d.waitForVideo((theirs as { progressId: string }).progressId);
    expect(d.creates()).toBe(before + 2);
  });

  it("someone who neither asked nor moderates can't cancel; the requester can", async () => {
    const r = await d.startVideo('requester', 'contract: a slow glacier', 'main');
    const progressId = (r as { progressId: string }).progressId;
    expect(progressId).toBeDefined();
    expect(await d.cancel('other', progressId)).toContain('Only the person who asked for this video, or a moderator');
    expect(d.progressText(progressId)).not.toMatch(/\bCancelled\b/);
    expect(await d.cancel('requester', progressId)).toContain('Stopped. The provider may still finish the job and charge for it.');
    await expect.poll(() => d.progressText(progressId), { timeout: 15_000 }).toMatch(/\bCancelled\b/);
  });

  it("a moderator (an admin of the place) can cancel someone else's job", async () => {
    const r = await d.startVideo('requester', 'contract: a slow tide', 'main');
    const progressId = (r as { progressId: string }).progressId;
    expect(await d.cancel('admin', progressId)).toContain('Stopped.');
    await expect.poll(() => d.progressText(progressId), { timeout: 15_000 }).toMatch(/\bCancelled\b/);
  });

  it("someone who isn't an admin can't change the settings, and nothing changes", async () => {
    for (const attempt of [() => d.setDailyLimit('requester', 1), () => d.allowOnly('other', 'elsewhere'), () => d.showSettings('requester')]) {
      expect(await attempt()).toContain("Changing the bot's settings needs");
    }
    const shown = await d.showSettings('admin');
    expect(shown).toContain('Channels: every channel');
    expect(shown).toContain('Daily limit per member: none');
  });
});
