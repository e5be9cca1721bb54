/**
 * Slack delivering the same thing twice, and Slack being slow, end to end (HTTP
 * mode, the real bot process):
 * - an event whose ack was slow comes again with x-slack-retry-num (same
 *   event_id); a slash command or a button press can arrive twice (same
 *   trigger_id). Each starts exactly one job, and every delivery is acked 200.
 * - a hung chat.update (progress edits) must not hold the video back: it is
 *   uploaded, and the job ends, while the update is still unanswered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIONS } from '../../src/surfaces/slack/slack-refs.js';
import { botPosts, createSlackWorld, creates, lastCreate, videoIn } from './slack-world.js';
import type { SlackWorld } from './slack-world.js';
import { logLines } from '../helpers/bot-process.js';

const GENERAL = 'C0GENERAL';
const ALICE = 'U0ALICE';
const BOB = 'U0BOB';
/** The bot's Slack client gives up on a call after this long (PLATFORM_TIMEOUT_MS). */
const CLIENT_TIMEOUT_MS = 20_000;
let w: SlackWorld;

beforeAll(async () => {
  // Renders long enough for a few progress edits before the video is ready.
  w = await createSlackWorld({ renderMs: 1500 });
  await w.startBot({ PLATFORM_TIMEOUT_MS: String(CLIENT_TIMEOUT_MS) });
}, 60_000);
afterAll(async () => {
  await w?.close();
});

const until = <T>(fn: () => T | undefined | false, ms = 15_000) => w.slack.waitFor(fn, ms) as Promise<T>;
const calls = (method: string) => w.slack.calls.filter((c) => c.method === method);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Long enough for a duplicate job to have been created (and a queued one to have left the queue). */
const SETTLE_MS = 3000;
const starts = (prompt: string) => w.slack.messages.filter((m) => m.user === w.slack.botUserId && !m.ephemeralTo && m.history[0]!.text.includes('Starting') && m.history[0]!.text.includes(prompt));
const videos = (thread: string) => w.slack.messages.filter((m) => m.channel === GENERAL && m.threadTs === thread && m.files.some((f) => f.name.endsWith('.mp4')));

async function finishedVideo(prompt: string) {
  await w.send.command({ command: '/video', text: prompt, userId: ALICE, channelId: GENERAL });
  const progress = await until(() => botPosts(w, GENERAL).find((m) => !m.threadTs && m.history[0]!.text.includes(prompt)));
  const buttons = await until(() => botPosts(w, GENERAL, progress.ts).find((m) => JSON.stringify(m.blocks ?? []).includes(ACTIONS.reroll)), 20_000);
  const jobId = /"action_id":"sd_reroll","value":"([\w-]+)"/.exec(JSON.stringify(buttons.blocks))![1]!;
  await until(() => w.slack.messages.find((m) => m.ts === progress.ts)!.text.includes('Done'), 20_000);
  return { progress, buttons, jobId };
}

describe('the same delivery twice', () => {
  it('an app_mention retried by Slack (same event_id, x-slack-retry-num 1 and 2) starts one job and is acked 200 each time', async () => {
    const before = creates(w);
    const ts = `${Math.floor(Date.now() / 1000)}.000777`;
    const event = w.send.appMention({ text: `<@${w.slack.botUserId}> a paper boat drifts downstream`, userId: ALICE, channelId: GENERAL, ts });
    const eventId = 'Ev0RETRIED01';
    const first = await w.send.event(event, { eventId });
    const retry1 = await w.send.event(event, { eventId, retryNum: 1, retryReason: 'http_timeout' });
    const retry2 = await w.send.event(event, { eventId, retryNum: 2, retryReason: 'http_timeout' });
    expect([first.status, retry1.status, retry2.status]).toEqual([200, 200, 200]);

    await until(() => videoIn(w, GENERAL, ts), 20_000);
    await sleep(SETTLE_MS);
    expect(creates(w)).toBe(before + 1);
    expect(starts('a paper boat drifts downstream')).toHaveLength(1);
    expect(videos(ts)).toHaveLength(1);
  });

  it('a slash command delivered twice (same trigger_id) starts one job', async () => {
    const before = creates(w);
    const prompt = 'a kite over the dunes';
    const same = { command: '/video', text: prompt, userId: BOB, channelId: GENERAL, triggerId: `${Date.now()}001.1000000001.dup0command0trigger`, responseUrl: `${w.slack.url}/hooks/response/${GENERAL}/${BOB}/-/dupcommand1` };
    const a = await w.send.command(same);
    const b = await w.send.command(same);
    expect([a.status, b.status]).toEqual([200, 200]);

    const progress = await until(() => botPosts(w, GENERAL).find((m) => !m.threadTs && m.history[0]!.text.includes(prompt)));
    await until(() => videoIn(w, GENERAL, progress.ts), 20_000);
    await sleep(SETTLE_MS);
    expect(creates(w)).toBe(before + 1);
    expect(starts(prompt)).toHaveLength(1);
  });

  it('a Re-roll button press delivered twice (the same payload again) starts one job', async () => {
    const { progress, buttons, jobId } = await finishedVideo('a lantern on a lake');
    const before = creates(w);
    // Slack gives every click its own trigger_id: a duplicate is the very same payload, sent again.
    const press = w.send.blockAction({ actionId: ACTIONS.reroll, value: jobId, userId: BOB, channelId: GENERAL, messageTs: buttons.ts, threadTs: progress.ts });
    const a = await w.send.interactive(press);
    const b = await w.send.interactive(press);
    expect([a.status, b.status]).toEqual([200, 200]);

    await until(() => videos(progress.ts).length >= 2, 20_000);
    await sleep(SETTLE_MS);
    expect(creates(w)).toBe(before + 1);
    expect(lastCreate(w)).toMatchObject({ prompt: 'a lantern on a lake' });
    expect(videos(progress.ts)).toHaveLength(2); // the first take and one re-roll
  });
});

describe('a hung chat.update', () => {
  // Last in the file: the held calls are only cut short when the stand-in closes.
  it('does not hold back the video: it is uploaded, and the job ends, while the progress edits are still unanswered', async () => {
    const HANG_MS = CLIENT_TIMEOUT_MS + 5000;
    const held: number[] = []; // when each held chat.update reached the stand-in
    w.slack.setChaos((req) => {
      if (req.method !== 'chat.update') return undefined;
      held.push(Date.now());
      return { delayMs: HANG_MS };
    });
    // A held call is recorded (with its fault) only once it is answered.
    const answeredHeld = () => calls('chat.update').filter((c) => c.fault?.source === 'chaos').length;
    try {
      const prompt = 'a heron lifts off the reeds';
      const uploads = calls('files.completeUploadExternal').length;
      await w.send.command({ command: '/video', text: prompt, userId: ALICE, channelId: GENERAL });
      const progress = await until(() => botPosts(w, GENERAL).find((m) => !m.threadTs && m.history[0]!.text.includes(prompt)));

      // The video (and its buttons) arrive before the bot could even have given up on the first hung update.
      const video = await until(() => videoIn(w, GENERAL, progress.ts), CLIENT_TIMEOUT_MS - 5000);
      const videoAt = Date.now();
      expect(held.length).toBeGreaterThanOrEqual(1);
      expect(answeredHeld()).toBe(0);
      expect(videoAt).toBeLessThan(held[0]! + CLIENT_TIMEOUT_MS);
      expect(video.files[0]!.name).toMatch(/\.mp4$/);
      expect(calls('files.completeUploadExternal').length).toBe(uploads + 1);
      expect(calls('files.completeUploadExternal').at(-1)!.args).toMatchObject({ channel_id: GENERAL, thread_ts: progress.ts });
      const buttons = await until(() => botPosts(w, GENERAL, progress.ts).find((m) => JSON.stringify(m.blocks ?? []).includes(ACTIONS.reroll)));
      const jobId = /"action_id":"sd_reroll","value":"([\w-]+)"/.exec(JSON.stringify(buttons.blocks))![1]!;

      // The job itself finishes (delivered, recorded, ended) without waiting for the hung edits either.
      const ended = await until(() => logLines(w.output()).find((l) => l.msg === 'job ended' && l.jobId === jobId), CLIENT_TIMEOUT_MS - 5000);
      const endedAt = Date.now();
      expect(ended.status).toBe('delivered');
      expect(answeredHeld()).toBe(0);
      expect(endedAt).toBeLessThan(held[0]! + CLIENT_TIMEOUT_MS);
      // The progress message never got an edit through; it still shows the first post.
      expect(w.slack.messages.find((m) => m.ts === progress.ts)!.history).toHaveLength(1);
    } finally {
      w.slack.setChaos(undefined);
    }
  }, 60_000);
});
