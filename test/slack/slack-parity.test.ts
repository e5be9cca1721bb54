/**
 * Slack at parity with Discord, end to end (the real bot process, the Slack
 * stand-in, the provider emulator): /video-admin for workspace admins, its
 * settings enforced on every way in (/video and mentions), videos made in the
 * bot's DM, and the App Home tab.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HOME_MAKE_VIDEO } from '../../src/surfaces/slack/listeners/home.js';
import { CALLBACKS } from '../../src/surfaces/slack/slack-refs.js';
import { botPosts, createSlackWorld, creates, ephemeralFor, videoIn } from './slack-world.js';
import type { SlackWorld } from './slack-world.js';

const GENERAL = 'C0GENERAL';
const RANDOM = 'C0RANDOM';
const ALICE = 'U0ALICE';
const BOB = 'U0BOB';
const ADMIN = 'U0ADMIN';
let w: SlackWorld;

beforeAll(async () => {
  w = await createSlackWorld();
  await w.startBot();
}, 60_000);
afterAll(async () => {
  await w?.close();
});

/** Waits for the bot's reaction; generous because CI runs test files side by side on two cores. */
const until = <T>(fn: () => T | undefined | false, ms = 15_000) => w.slack.waitFor(fn, ms) as Promise<T>;
let seq = 0;

/** The text the bot answered a slash command with, through that command's own response_url. */
async function command(name: string, text: string, user: string, channel = GENERAL): Promise<{ text: string; ephemeral: boolean } | undefined> {
  seq += 1;
  const path = `/hooks/response/${channel}/${user}/-/parity${seq}`;
  await w.send.command({ command: name, text, userId: user, channelId: channel, responseUrl: `${w.slack.url}${path}` });
  return until(() => {
    const reply = w.slack.calls.find((c) => c.method === 'RESPONSE_URL' && c.path === path);
    return reply && { text: String(reply.args.text), ephemeral: reply.args.response_type !== 'in_channel' };
  });
}

const admin = async (text: string, user = ADMIN) => (await command(CALLBACKS.adminCommand, text, user))!;

/** /video: a refusal (answered ephemerally through the response_url), or the progress message it started. */
async function video(prompt: string, user: string, channel: string): Promise<{ refused: string } | { progressTs: string }> {
  // The progress message quotes the prompt without its flags.
  const shown = prompt.replace(/\s--.*$/, '');
  seq += 1;
  const path = `/hooks/response/${channel}/${user}/-/parity${seq}`;
  await w.send.command({ command: CALLBACKS.command, text: prompt, userId: user, channelId: channel, responseUrl: `${w.slack.url}${path}` });
  return until(() => {
    const reply = w.slack.calls.find((c) => c.method === 'RESPONSE_URL' && c.path === path);
    if (reply) return { refused: String(reply.args.text) };
    const progress = botPosts(w, channel).find((m) => !m.threadTs && m.history[0]!.text.includes(shown));
    return progress && { progressTs: progress.ts };
  });
}

/** A mention of the bot; its refusal is an ephemeral in the mention's thread, its progress a post in that thread. */
async function mention(prompt: string, user: string, channel: string): Promise<{ refused: string } | { progressTs: string }> {
  const asked = w.slack.addUserMessage({ channel, user, text: `<@${w.slack.botUserId}> ${prompt}` });
  const n = ephemeralFor(w, user).length;
  await w.send.event(w.send.appMention({ text: asked.text, userId: user, channelId: channel, ts: asked.ts }));
  return until(() => {
    const refusal = ephemeralFor(w, user).slice(n).find((m) => m.threadTs === asked.ts);
    if (refusal) return { refused: refusal.text };
    const progress = botPosts(w, channel, asked.ts).find((m) => m.history[0]!.text.includes(prompt));
    return progress && { progressTs: asked.ts };
  });
}

/** The create the emulator got for a prompt. */
const createOf = (prompt: string) => w.emulator.requests.find((r) => r.method === 'POST' && (r.body as { prompt?: string } | undefined)?.prompt === prompt)?.body as Record<string, unknown> | undefined;

/** Opens the user's Home tab and returns the view the bot then published. */
async function openHome(user: string) {
  const before = w.slack.homeViews.length;
  await w.send.event(w.send.appHomeOpened({ userId: user, channelId: w.slack.dmChannel(user) }));
  return until(() => w.slack.homeViews.slice(before).find((v) => v.userId === user));
}

const resetSettings = async () => {
  for (const c of ['channels-clear', 'daily-limit off', 'default-model off', 'default-resolution off']) await admin(c);
};

describe('/video-admin', () => {
  afterEach(resetSettings);

  it('is refused ephemerally to someone who is not a workspace admin, and changes nothing', async () => {
    for (const [user, text] of [
      [BOB, 'daily-limit 1'],
      [ALICE, `channel-add <#${GENERAL}|general>`],
      [BOB, 'default-model pro'],
      [ALICE, 'show'],
    ] as const) {
      const answer = await admin(text, user);
      expect(answer.ephemeral).toBe(true);
      expect(answer.text).toContain("Changing the bot's settings needs workspace admin or owner rights in this workspace");
    }
    const shown = await admin('show');
    expect(shown.ephemeral).toBe(true);
    expect(shown.text).toContain('• Channels: every channel');
    expect(shown.text).toContain('• Daily limit per member: none');
    expect(shown.text).toContain('• Default model: bot default');
    // And nothing was refused to Bob's /video on account of a setting he tried to make.
    const before = creates(w);
    const r = await video('bob is not limited', BOB, RANDOM);
    expect(r).toHaveProperty('progressTs');
    await until(() => createOf('bob is not limited'));
    expect(creates(w)).toBe(before + 1);
  });

  it("an admin's channel-add restricts /video and mentions to that channel (a DM is not a channel)", async () => {
    const added = await admin(`channel-add <#${GENERAL}|general>`);
    expect(added.ephemeral).toBe(true);
    expect(added.text).toContain(`• Channels: <#${GENERAL}>`);
    const before = creates(w);

    const elsewhere = await video('wrong channel', ALICE, RANDOM);
    expect(elsewhere).toEqual({ refused: expect.stringContaining(`Videos can be made in <#${GENERAL}>`) });
    const mentioned = await mention('wrong channel by mention', ALICE, RANDOM);
    expect(mentioned).toEqual({ refused: expect.stringContaining(`Videos can be made in <#${GENERAL}>`) });
    expect(botPosts(w, RANDOM).some((m) => /wrong channel/.test(m.text))).toBe(false);
    expect(creates(w)).toBe(before);

    // The allowed channel works, and so does the bot's DM.
    const ok = await video('right channel', ALICE, GENERAL);
    expect(ok).toHaveProperty('progressTs');
    const dm = w.slack.dmChannel(ALICE);
    const asked = w.slack.addUserMessage({ channel: dm, user: ALICE, text: 'a DM is fine' });
    await w.send.event(w.send.message({ text: asked.text, userId: ALICE, channelId: dm, ts: asked.ts }));
    await until(() => videoIn(w, GENERAL, (ok as { progressTs: string }).progressTs), 20_000);
    await until(() => videoIn(w, dm, asked.ts), 20_000);
    expect(creates(w)).toBe(before + 2);
  });

  it('daily-limit 1 refuses the second video of the day: by /video, by mention, in the DM and in the modal', async () => {
    // The admin has made nothing today (the limit is per member, so Alice's and Bob's videos don't count).
    const limited = await admin('daily-limit 1');
    expect(limited.text).toContain('• Daily limit per member: 1');
    const before = creates(w);
    const first = await video('first of the day', ADMIN, GENERAL);
    expect(first).toHaveProperty('progressTs');
    await until(() => videoIn(w, GENERAL, (first as { progressTs: string }).progressTs), 20_000);

    const second = await video('second of the day', ADMIN, GENERAL);
    expect(second).toEqual({ refused: expect.stringContaining("You've made 1 video today; this workspace allows 1 a day") });
    const byMention = await mention('second of the day, by mention', ADMIN, GENERAL);
    expect(byMention).toEqual({ refused: expect.stringContaining('this workspace allows 1 a day') });
    // In the bot's DM the workspace's limit holds too (only its channel list doesn't apply there).
    const dm = w.slack.dmChannel(ADMIN);
    const n = ephemeralFor(w, ADMIN).length;
    const asked = w.slack.addUserMessage({ channel: dm, user: ADMIN, text: 'second of the day, in the DM' });
    await w.send.event(w.send.message({ text: asked.text, userId: ADMIN, channelId: dm, ts: asked.ts }));
    expect((await until(() => ephemeralFor(w, ADMIN).slice(n).find((m) => m.channel === dm))).text).toContain('this workspace allows 1 a day');
    // And the modal (from the shortcut or the Home tab) shows it inline, submitting nothing.
    const submitted = await w.send.interactive(
      w.send.viewSubmission({
        callbackId: CALLBACKS.modal,
        userId: ADMIN,
        privateMetadata: JSON.stringify({ kind: 'global' }),
        values: { prompt: { value: { type: 'plain_text_input', value: 'second of the day, by the modal' } }, conversation: { value: { type: 'conversations_select', selected_conversation: GENERAL } } },
      }),
    );
    expect(JSON.parse(submitted.body)).toMatchObject({ response_action: 'errors' });
    expect(submitted.body).toContain('this workspace allows 1 a day');
    expect(creates(w)).toBe(before + 1);
    // The refusals were private: nothing about them was posted for everyone.
    expect(botPosts(w, GENERAL).some((m) => m.history.some((h) => h.text.includes('second of the day')))).toBe(false);
  });

  it('default-model pro is used by the next job, from /video and from a mention; an explicit --lite still wins', async () => {
    const set = await admin('default-model pro');
    expect(set.text).toContain('• Default model: pro');
    const started = [await video('pro by default', BOB, GENERAL), await mention('pro by mention', BOB, GENERAL), await video('lite on request --lite', BOB, GENERAL)];
    expect((await until(() => createOf('pro by default'))).model).toBe('bytedance/seedance-1-0-pro-t2v');
    expect((await until(() => createOf('pro by mention'))).model).toBe('bytedance/seedance-1-0-pro-t2v');
    expect((await until(() => createOf('lite on request'))).model).toBe('bytedance/seedance-1-0-lite-t2v');
    // Delivered, so Bob has nothing under way for the tests after this one.
    await Promise.all(started.map((r) => until(() => videoIn(w, GENERAL, (r as { progressTs: string }).progressTs), 20_000)));
  });

  it('show lists every setting; bad values are answered with the reason', async () => {
    await admin(`channel-add <#${GENERAL}|general>`);
    await admin(`channel-add <#${RANDOM}|random>`);
    await admin('daily-limit 7');
    await admin('default-model pro');
    await admin('default-resolution 1080p');
    const shown = await admin('show');
    expect(shown.text.split('\n')).toEqual([
      'Video settings for this workspace:',
      `• Channels: <#${GENERAL}>, <#${RANDOM}>`,
      '• Daily limit per member: 7',
      '• Default model: pro',
      '• Default resolution: 1080p',
    ]);
    const removed = await admin(`channel-remove <#${RANDOM}>`);
    expect(removed.text).toContain(`• Channels: <#${GENERAL}>\n`);
    expect((await admin('daily-limit lots')).text).toContain('The daily limit is a whole number');
    expect((await admin('default-model turbo')).text).toContain('Unknown model "turbo"');
    expect((await admin('channel-add general')).text).toContain('Name the channel as #channel');
    expect((await admin('frobnicate')).text).toContain('Unknown setting "frobnicate"');
    // The bad values changed nothing.
    expect((await admin('show')).text).toBe(
      ['Video settings for this workspace:', `• Channels: <#${GENERAL}>`, '• Daily limit per member: 7', '• Default model: pro', '• Default resolution: 1080p'].join('\n'),
    );
  });
});

describe("the bot's DM", () => {
  it('a message in the DM with a prompt makes a video delivered into that DM (one create)', async () => {
    const dm = w.slack.dmChannel(BOB);
    expect(dm).toMatch(/^D/);
    const before = creates(w);
    const asked = w.slack.addUserMessage({ channel: dm, user: BOB, text: 'a paper boat in the rain --seed 11' });
    await w.send.event(w.send.message({ text: asked.text, userId: BOB, channelId: dm, ts: asked.ts }));
    const progress = await until(() => botPosts(w, dm, asked.ts).find((m) => m.history[0]!.text.includes('a paper boat in the rain')));
    const vid = await until(() => videoIn(w, dm, asked.ts), 20_000);
    expect(vid.files[0]!.name).toMatch(/\.mp4$/);
    expect(progress.channel).toBe(dm);
    expect(createOf('a paper boat in the rain')).toMatchObject({ seed: 11 });
    await until(() => w.slack.messages.find((m) => m.ts === progress.ts)!.text.includes('Done'), 20_000);
    expect(creates(w)).toBe(before + 1);
    // Nothing went anywhere else.
    expect(w.slack.messages.filter((m) => m.user === w.slack.botUserId && m.text.includes('a paper boat')).every((m) => m.channel === dm)).toBe(true);
  });

  it('answers a DM without a prompt with how to use it, and starts nothing', async () => {
    const dm = w.slack.dmChannel(BOB);
    const before = creates(w);
    const n = ephemeralFor(w, BOB).length;
    const asked = w.slack.addUserMessage({ channel: dm, user: BOB, text: '--seed 3' });
    await w.send.event(w.send.message({ text: asked.text, userId: BOB, channelId: dm, ts: asked.ts }));
    const answer = await until(() => ephemeralFor(w, BOB)[n]);
    expect(answer.channel).toBe(dm);
    expect(answer.text).toContain('Make a video');
    expect(creates(w)).toBe(before);
  });
});

describe('the App Home tab', () => {
  it("publishes a Home view listing the person's recent video and usage, without the settings for a non-admin", async () => {
    const r = await video('a heron takes off', ALICE, GENERAL);
    await until(() => videoIn(w, GENERAL, (r as { progressTs: string }).progressTs), 20_000);
    await until(() => w.slack.messages.find((m) => m.ts === (r as { progressTs: string }).progressTs)!.text.includes('Done'), 20_000);
    const published = await openHome(ALICE);
    expect(published.view.type).toBe('home');
    const text = w.slack.homeText(ALICE);
    expect(text).toContain('*Your recent videos*');
    expect(text).toMatch(/a heron takes off>? — lite, :white_check_mark: delivered/);
    // Linked to the message (chat.getPermalink).
    expect(text).toContain(`https://standin.slack.com/archives/${GENERAL}/p`);
    expect(text).toMatch(/You've made \d+ videos today \(UTC\); there is no daily limit\./);
    expect(text).not.toContain('Workspace settings');
    expect(JSON.stringify(published.view.blocks)).toContain(`"action_id":"${HOME_MAKE_VIDEO}"`);
    // Bob's Home is his own.
    await openHome(BOB);
    expect(w.slack.homeText(BOB)).not.toContain('a heron takes off');
  });

  it("shows a prompt as written: escaped, so it can't end the link, link elsewhere or ping", async () => {
    const prompt = 'a > b & <!here> <https://elsewhere.example|a prize>';
    await w.send.command({ command: CALLBACKS.command, text: prompt, userId: BOB, channelId: GENERAL });
    // The progress message quotes it escaped, as every message of the bot does.
    const progress = await until(() => botPosts(w, GENERAL).find((m) => !m.threadTs && m.history[0]!.text.includes('a &gt; b &amp; &lt;!here&gt;')));
    await until(() => videoIn(w, GENERAL, progress.ts), 20_000);
    await openHome(BOB);
    const line = w.slack.homeText(BOB).split('\n').find((l) => l.includes('a &gt; b'));
    expect(line).toMatch(/^• <https:\/\/standin\.slack\.com\/archives\/[^|>]+\|a &gt; b &amp; &lt;!here&gt; &lt;https:\/\/elsewhere\.example\|a prize&gt;> — lite, /);
  });

  it('shows an admin the workspace settings and the usage against its daily limit', async () => {
    await admin('daily-limit 5');
    try {
      await openHome(ADMIN);
      const text = w.slack.homeText(ADMIN);
      expect(text).toContain('*Workspace settings*');
      expect(text).toContain('• Daily limit per member: 5');
      // The admin made one video today (the daily-limit test).
      expect(text).toContain("You've made 1 video today (UTC); this workspace allows 5 a day.");
      expect(text).toContain('first of the day');
    } finally {
      await resetSettings();
    }
  });

  it('"Make a video" on the Home tab opens the video modal with the trigger_id', async () => {
    const home = w.slack.homeView(ALICE) ?? (await openHome(ALICE));
    const opened = w.slack.views.length;
    const payload = w.send.viewBlockAction({ actionId: HOME_MAKE_VIDEO, userId: ALICE, viewId: home.viewId, blocks: home.view.blocks });
    const res = await w.send.interactive(payload);
    expect(res.status).toBe(200);
    const view = await until(() => w.slack.views[opened]);
    expect(view.triggerId).toBe(payload.trigger_id);
    const v = view.view as { type: string; callback_id: string; private_metadata: string; blocks: { block_id: string }[] };
    expect(v).toMatchObject({ type: 'modal', callback_id: CALLBACKS.modal });
    expect(JSON.parse(v.private_metadata)).toEqual({ kind: 'global' });
    for (const id of ['prompt', 'image', 'model', 'conversation']) expect(v.blocks.map((b) => b.block_id)).toContain(id);
  });
});

describe('text as Slack sends it', () => {
  it('decodes &amp; &lt; &gt; before the prompt goes to the provider (from /video and from a mention)', async () => {
    await w.send.command({ command: CALLBACKS.command, text: 'salt &amp; pepper &lt;3 --seed 7', userId: BOB, channelId: GENERAL });
    const viaCommand = await until(() => createOf('salt & pepper <3'));
    expect(viaCommand).toMatchObject({ seed: 7 });
    await w.send.event(w.send.appMention({ userId: BOB, channelId: GENERAL, text: `<@${w.slack.botUserId}> fish &amp; chips &gt; everything` }));
    await until(() => createOf('fish & chips > everything'));
    expect(w.emulator.requests.some((r) => JSON.stringify(r.body ?? '').includes('&amp;'))).toBe(false);
  });
});
