/**
 * Extend on Slack, end to end: the button in a delivered video's thread opens a
 * form (views.open), and its submission starts a clip from that video's last
 * frame (grabbed by the bot with the real ffmpeg) in the same thread, or, on
 * 2.0, from the whole clip as the reference video. Refusals show in the form.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeImage } from '../../src/core/image-probe.js';
import { ACTIONS, CALLBACKS } from '../../src/surfaces/slack/slack-refs.js';
import { botPosts, createSlackWorld, creates } from './slack-world.js';
import type { SlackWorld } from './slack-world.js';

const GENERAL = 'C0GENERAL';
const ALICE = 'U0ALICE';
const BOB = 'U0BOB';
const ADMIN = 'U0ADMIN';
let w: SlackWorld;

beforeAll(async () => {
  w = await createSlackWorld({ videoBytes: readFileSync(new URL('../fixtures/blue-red-640x360.mp4', import.meta.url)) });
  await w.startBot();
}, 60_000);
afterAll(async () => {
  await w?.close();
});

type Obj = Record<string, unknown>;
const until = <T>(fn: () => T | undefined | false, ms = 15_000) => w.slack.waitFor(fn, ms) as Promise<T>;
const createBodies = () => w.emulator.requests.filter((r) => r.kind === 'create').map((r) => r.body as Obj);
const framePath = (jobId: string) => join(w.dataDir, 'frames', `${jobId}.jpg`);
const videosIn = (thread: string) => w.slack.messages.filter((m) => m.channel === GENERAL && m.threadTs === thread && m.files.some((f) => f.name.endsWith('.mp4')));
const prompt = (text: string) => ({ prompt: { value: { type: 'plain_text_input', value: text } } });

/** /video, then waits until the video is delivered in its thread and its last frame kept. */
async function finishedVideo(text: string) {
  const shown = text.replace(/\s--.*$/, '');
  await w.send.command({ command: '/video', text, userId: ALICE, channelId: GENERAL });
  const progress = await until(() => botPosts(w, GENERAL).find((m) => !m.threadTs && m.history[0]!.text.includes(shown)));
  const buttons = await until(() => botPosts(w, GENERAL, progress.ts).find((m) => JSON.stringify(m.blocks ?? []).includes(ACTIONS.extend)), 20_000);
  const jobId = /"action_id":"sd_extend","value":"([\w-]+)"/.exec(JSON.stringify(buttons.blocks))![1]!;
  await until(() => w.slack.messages.find((m) => m.ts === progress.ts)!.text.includes('Done'), 20_000);
  await until(() => existsSync(framePath(jobId)), 20_000);
  return { thread: progress.ts, buttons, jobId };
}

/** Presses Extend; the form the bot opened. */
async function pressExtend(v: { thread: string; buttons: { ts: string }; jobId: string }, user = ALICE) {
  const opened = w.slack.views.length;
  await w.send.interactive(w.send.blockAction({ actionId: ACTIONS.extend, value: v.jobId, userId: user, channelId: GENERAL, messageTs: v.buttons.ts, threadTs: v.thread }));
  const view = (await until(() => w.slack.views[opened])).view as { callback_id: string; private_metadata: string; blocks: { block_id: string; element: Obj }[] };
  return view;
}

const submit = (view: { private_metadata: string }, values: Obj, user = ALICE) =>
  w.send.viewSubmission({ callbackId: CALLBACKS.extendModal, userId: user, privateMetadata: view.private_metadata, values: values as Record<string, Record<string, unknown>> });

describe('Extend', () => {
  it('submits the last frame: one create with the new prompt and the original settings, posted in the same thread', async () => {
    const v = await finishedVideo('a fox in the snow --res 480p --duration 10 --seed 7');
    const view = await pressExtend(v, BOB);
    expect(view.callback_id).toBe(CALLBACKS.extendModal);
    // Lite takes no reference video: the prompt is all the form asks.
    expect(view.blocks.map((b) => b.block_id)).toEqual(['prompt']);
    expect(view.blocks[0]!.element).toMatchObject({ type: 'plain_text_input', multiline: true, max_length: 2000 });

    const before = createBodies().length;
    const res = await w.send.interactive(submit(view, prompt('the fox jumps'), BOB));
    expect(res.status).toBe(200);
    expect(res.body).toBe('');
    await until(() => videosIn(v.thread).length === 2, 20_000);
    const bodies = createBodies().slice(before);
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toMatchObject({ model: 'bytedance/seedance-1-0-lite-i2v', prompt: 'the fox jumps', resolution: '480p', duration: 10 });
    expect(bodies[0]!.seed).not.toBe(7);
    const sent = Buffer.from(/^data:image\/jpeg;base64,(.+)$/.exec(String(bodies[0]!.image_url))![1]!, 'base64');
    expect(sent.equals(readFileSync(framePath(v.jobId)))).toBe(true);
    expect(probeImage(sent)).toMatchObject({ width: 640, height: 360 });
    // The progress message of the new clip is in the original's thread too.
    expect(botPosts(w, GENERAL, v.thread).some((m) => m.history[0]!.text.includes('the fox jumps'))).toBe(true);
  });

  it('starts one job when the same submission arrives twice', async () => {
    const v = await finishedVideo('a paper boat');
    const view = await pressExtend(v);
    const before = creates(w);
    const payload = submit(view, prompt('the boat sails off'));
    await w.send.interactive(payload);
    await w.send.interactive(payload);
    await until(() => videosIn(v.thread).length === 2, 20_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(creates(w)).toBe(before + 1);
    expect(videosIn(v.thread)).toHaveLength(2);
  });

  it('shows the daily limit in the form and sends nothing', async () => {
    const v = await finishedVideo('a candle flickers');
    const admin = (text: string) => w.send.command({ command: CALLBACKS.adminCommand, text, userId: ADMIN, channelId: GENERAL });
    const setTo = async (text: string, expected: RegExp) => {
      const n = w.slack.calls.filter((c) => c.method === 'RESPONSE_URL').length;
      await admin(text);
      await until(() => w.slack.calls.filter((c) => c.method === 'RESPONSE_URL').slice(n).some((c) => expected.test(String(c.args.text))));
    };
    await setTo('daily-limit 1', /Daily limit per member: 1/);
    try {
      const view = await pressExtend(v);
      const before = creates(w);
      const res = await w.send.interactive(submit(view, prompt('the candle goes out')));
      const answer = JSON.parse(res.body) as { response_action: string; errors: Record<string, string> };
      expect(answer.response_action).toBe('errors');
      expect(answer.errors.prompt).toMatch(/this workspace allows 1 a day/);
      await new Promise((r) => setTimeout(r, 300));
      expect(creates(w)).toBe(before);
    } finally {
      await setTo('daily-limit off', /Daily limit per member: none/);
    }
  });

  it('on 2.0, offers the whole clip as the reference video: video_urls is the original link and no image is sent', async () => {
    const v = await finishedVideo('a fox on a hill --model 2.0 --res 720p');
    const view = await pressExtend(v);
    expect(view.blocks.map((b) => b.block_id)).toEqual(['prompt', 'from']);
    expect(view.blocks[1]!.element).toMatchObject({ type: 'radio_buttons', initial_option: { value: 'frame' }, options: [{ value: 'frame' }, { value: 'clip' }] });
    const genId = [...w.emulator.jobs.values()].find((j) => j.body.prompt === 'a fox on a hill')!.id;
    const download = w.emulator.requests.find((r) => r.kind === 'download' && r.path.includes(`/cdn/${encodeURIComponent(genId)}.mp4`))!;

    const before = createBodies().length;
    await w.send.interactive(submit(view, { ...prompt('the fox runs down'), from: { value: { type: 'radio_buttons', selected_option: { value: 'clip' } } } }));
    await until(() => videosIn(v.thread).length === 2, 20_000);
    const bodies = createBodies().slice(before);
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toMatchObject({ model: 'bytedance/seedance-2-0', prompt: 'Continue @Video1: the fox runs down', resolution: '720p', video_urls: [`${w.emulator.aimlapiUrl}${download.path}`] });
    expect(bodies[0]).not.toHaveProperty('image_url');
  });
});
