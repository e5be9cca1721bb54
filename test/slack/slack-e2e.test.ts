/**
 * Slack end to end in HTTP mode: signed requests to the real bot process's Bolt
 * receiver, the Slack Web API stand-in and the provider emulator, all on loopback.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import manifest from '../../commands/slack-manifest.json' with { type: 'json' };
import { ACTIONS, CALLBACKS } from '../../src/surfaces/slack/slack-refs.js';
import { PNG, botPosts, createSlackWorld, creates, ephemeralFor, lastCreate, videoIn } from './slack-world.js';
import type { SlackWorld } from './slack-world.js';

const fixture = readFileSync(new URL('../fixtures/tiny.mp4', import.meta.url));
const GENERAL = 'C0GENERAL';
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
const calls = (method: string) => w.slack.calls.filter((c) => c.method === method);
const image = () => w.slack.addUserFile({ name: 'photo.png', mimetype: 'image/png', data: PNG, width: 320, height: 320 });

describe('/video', () => {
  it('acks at once, keeps a progress message updated and uploads the MP4 into its thread', async () => {
    const before = creates(w);
    const res = await w.send.command({ command: '/video', text: 'a fox running through snow --ratio 9:16 --seed 42 --pro', userId: ALICE, channelId: GENERAL });
    expect(res.status).toBe(200);
    const progress = await until(() => botPosts(w, GENERAL).find((m) => !m.threadTs && m.history[0]!.text.includes('a fox running')));
    const video = await until(() => videoIn(w, GENERAL, progress.ts), 20_000);
    expect(creates(w)).toBe(before + 1);
    expect(lastCreate(w)).toMatchObject({ model: 'bytedance/seedance-1-0-pro-t2v', prompt: 'a fox running through snow', aspect_ratio: '9:16', seed: 42 });
    expect(video.files[0]!.data!.equals(fixture)).toBe(true);
    expect(video.text).toContain('seed `42`');
    expect(video.text).toContain(`<@${ALICE}>`);
    // Buttons in the thread, progress edited with chat.update, ending as "done".
    const buttons = await until(() => botPosts(w, GENERAL, progress.ts).find((m) => JSON.stringify(m.blocks ?? []).includes(ACTIONS.reroll)), 20_000);
    expect(JSON.stringify(buttons.blocks)).toContain(ACTIONS.delete);
    await until(() => w.slack.messages.find((m) => m.ts === progress.ts)!.text.includes('Done'), 20_000);
    const updates = calls('chat.update').filter((c) => c.args.ts === progress.ts);
    expect(updates.length).toBeGreaterThanOrEqual(2);
    expect(calls('files.completeUploadExternal').at(-1)!.args).toMatchObject({ channel_id: GENERAL, thread_ts: progress.ts });
  });

  it('answers bad input ephemerally and submits nothing', async () => {
    const before = creates(w);
    const responses = () => w.slack.calls.filter((c) => c.method === 'RESPONSE_URL').length;
    for (const [text, expected] of [
      ['x --turbo', 'unknown option --turbo'],
      ['x --duration 7', 'lite makes 5 or 10 s clips'],
      ['x --seed abc', 'seed must be'],
      ['', 'Make a video'],
    ] as const) {
      const n = responses();
      await w.send.command({ command: '/video', text, userId: ALICE, channelId: GENERAL });
      const reply = await until(() => responses() > n && w.slack.calls.filter((c) => c.method === 'RESPONSE_URL').at(-1));
      expect(JSON.stringify(reply.args)).toContain(expected);
      expect(JSON.stringify(reply.args)).not.toContain('in_channel');
    }
    expect(creates(w)).toBe(before);
  });
});

describe('shortcuts and the modal', () => {
  it('"Make a video" opens the modal at once; submitting with an image animates it into the picked channel', async () => {
    const opened = calls('views.open').length;
    await w.send.interactive(w.send.globalShortcut({ callbackId: CALLBACKS.globalShortcut, userId: ALICE }));
    const view = await until(() => w.slack.views[opened]);
    const blocks = JSON.stringify((view.view as { blocks: unknown[] }).blocks);
    for (const id of ['prompt', 'image', 'model', 'resolution', 'duration', 'ratio', 'seed', 'conversation']) expect(blocks).toContain(`"block_id":"${id}"`);

    const file = image();
    const res = await w.send.interactive(
      w.send.viewSubmission({
        callbackId: CALLBACKS.modal,
        userId: ALICE,
        privateMetadata: JSON.stringify({ kind: 'global' }),
        values: {
          prompt: { value: { type: 'plain_text_input', value: 'the flower opens' } },
          image: { value: { type: 'file_input', files: [file] } },
          model: { value: { type: 'static_select', selected_option: { value: 'pro' } } },
          conversation: { value: { type: 'conversations_select', selected_conversation: GENERAL } },
        },
      }),
    );
    expect(res.status).toBe(200);
    expect(res.body).not.toContain('errors');
    const progress = await until(() => botPosts(w, GENERAL).find((m) => !m.threadTs && m.history[0]!.text.includes('the flower opens')));
    await until(() => videoIn(w, GENERAL, progress.ts), 20_000);
    const body = lastCreate(w);
    expect(body).toMatchObject({ model: 'bytedance/seedance-1-0-pro-i2v', prompt: 'the flower opens' });
    // Slack files are private: the bytes go to the provider inline, fetched with the bot token.
    expect(String(body.image_url)).toBe(`data:image/png;base64,${PNG.toString('base64')}`);
    const get = w.slack.calls.filter((c) => c.method === 'FILE_GET').at(-1)!;
    expect(get.auth).toBe(`Bearer ${w.slack.botToken}`);
  });

  it('shows problems inline on the modal field and submits nothing', async () => {
    const before = creates(w);
    const res = await w.send.interactive(
      w.send.viewSubmission({
        callbackId: CALLBACKS.modal,
        userId: ALICE,
        privateMetadata: JSON.stringify({ kind: 'global' }),
        values: {
          prompt: { value: { type: 'plain_text_input', value: 'x' } },
          image: { value: { type: 'file_input', files: [image()] } },
          ratio: { value: { type: 'static_select', selected_option: { value: '9:16' } } },
          conversation: { value: { type: 'conversations_select', selected_conversation: GENERAL } },
        },
      }),
    );
    const answer = JSON.parse(res.body) as { response_action: string; errors: Record<string, string> };
    expect(answer.response_action).toBe('errors');
    expect(answer.errors.ratio).toBe('aspect ratio is decided by the image when you give a first frame');
    expect(creates(w)).toBe(before);
  });

  it('"Animate this image" prefills the prompt and delivers into that message\'s thread', async () => {
    const file = image();
    const original = w.slack.addUserMessage({ channel: GENERAL, user: BOB, text: 'sunset over the bay', files: [file] });
    const opened = w.slack.views.length;
    await w.send.interactive(w.send.messageShortcut({ callbackId: CALLBACKS.messageShortcut, userId: ALICE, channelId: GENERAL, message: { ts: original.ts, text: 'sunset over the bay', user: BOB, files: [file] } }));
    const view = await until(() => w.slack.views[opened]);
    const v = view.view as { private_metadata: string; blocks: { block_id: string; element?: { initial_value?: string } }[] };
    expect(v.blocks.find((b) => b.block_id === 'prompt')!.element!.initial_value).toBe('sunset over the bay');
    await w.send.interactive(
      w.send.viewSubmission({ callbackId: CALLBACKS.modal, userId: ALICE, privateMetadata: v.private_metadata, values: { prompt: { value: { type: 'plain_text_input', value: 'waves roll in' } } } }),
    );
    await until(() => videoIn(w, GENERAL, original.ts), 20_000);
    expect(lastCreate(w)).toMatchObject({ model: 'bytedance/seedance-1-0-lite-i2v', prompt: 'waves roll in' });
    expect(botPosts(w, GENERAL, original.ts).length).toBeGreaterThanOrEqual(2); // progress + buttons in the thread
  });

  it('says so privately when the message has no image', async () => {
    const plain = w.slack.addUserMessage({ channel: GENERAL, user: BOB, text: 'no picture here' });
    const n = ephemeralFor(w, ALICE).length;
    await w.send.interactive(w.send.messageShortcut({ callbackId: CALLBACKS.messageShortcut, userId: ALICE, channelId: GENERAL, message: { ts: plain.ts, text: 'no picture here', user: BOB } }));
    const e = await until(() => ephemeralFor(w, ALICE)[n]);
    expect(e.text).toContain('That message has no image to animate.');
  });
});

describe('mentions and files', () => {
  it('animates an image attached to a mention, in the mention\'s thread', async () => {
    const file = image();
    const ts = `${Math.floor(Date.now() / 1000)}.000100`;
    await w.send.event(w.send.appMention({ text: `<@${w.slack.botUserId}> it starts to snow --fixed`, userId: ALICE, channelId: GENERAL, ts, files: [file] }));
    await until(() => videoIn(w, GENERAL, ts), 20_000);
    expect(lastCreate(w)).toMatchObject({ model: 'bytedance/seedance-1-0-lite-i2v', prompt: 'it starts to snow', camerafixed: true });
  });

  it('detects Slack\'s HTML sign-in page (no files:read) and submits nothing', async () => {
    const before = creates(w);
    w.slack.setFilesReadScope(false);
    try {
      const n = ephemeralFor(w, ALICE).length;
      await w.send.event(w.send.appMention({ text: `<@${w.slack.botUserId}> animate this`, userId: ALICE, channelId: GENERAL, files: [image()] }));
      const e = await until(() => ephemeralFor(w, ALICE)[n]);
      expect(e.text).toContain('files:read');
      expect(creates(w)).toBe(before);
    } finally {
      w.slack.setFilesReadScope(true);
    }
  });

  it('never sends the bot token to a host that is not Slack\'s', async () => {
    const seen: (string | undefined)[] = [];
    const other = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(200, { 'content-type': 'image/png' }).end(PNG);
    });
    await new Promise<void>((r) => other.listen(0, 'localhost', () => r()));
    const port = (other.address() as AddressInfo).port;
    try {
      const file = { ...image(), url_private_download: `http://localhost:${port}/evil.png`, url_private: `http://localhost:${port}/evil.png` };
      const n = ephemeralFor(w, ALICE).length;
      await w.send.event(w.send.appMention({ text: `<@${w.slack.botUserId}> go`, userId: ALICE, channelId: GENERAL, files: [file] }));
      const e = await until(() => ephemeralFor(w, ALICE)[n]);
      expect(e.text).toContain('is not a Slack file');
      expect(seen).toEqual([]);
    } finally {
      other.close();
    }
  });

  it('refuses an image Slack declares as too small before downloading it', async () => {
    const small = w.slack.addUserFile({ name: 'icon.png', mimetype: 'image/png', data: PNG, width: 64, height: 64 });
    const gets = w.slack.calls.filter((c) => c.method === 'FILE_GET').length;
    const n = ephemeralFor(w, ALICE).length;
    await w.send.event(w.send.appMention({ text: `<@${w.slack.botUserId}> go`, userId: ALICE, channelId: GENERAL, files: [small] }));
    const e = await until(() => ephemeralFor(w, ALICE)[n]);
    expect(e.text).toContain('each side must be 300–6000 px');
    expect(w.slack.calls.filter((c) => c.method === 'FILE_GET').length).toBe(gets);
  });
});

describe('buttons', () => {
  async function finishedVideo(prompt: string, flags = '') {
    await w.send.command({ command: '/video', text: `${prompt} ${flags}`, userId: ALICE, channelId: GENERAL });
    const progress = await until(() => botPosts(w, GENERAL).find((m) => !m.threadTs && m.history[0]!.text.includes(prompt)));
    await until(() => videoIn(w, GENERAL, progress.ts), 20_000);
    const buttons = await until(() => botPosts(w, GENERAL, progress.ts).find((m) => JSON.stringify(m.blocks ?? []).includes(ACTIONS.reroll)), 20_000);
    const jobId = /"action_id":"sd_reroll","value":"([\w-]+)"/.exec(JSON.stringify(buttons.blocks))![1]!;
    // Delivery is finished (and recorded) once the progress message says so.
    await until(() => w.slack.messages.find((m) => m.ts === progress.ts)!.text.includes('Done'));
    return { progress, buttons, jobId };
  }

  it('re-rolls into the same thread with a new seed', async () => {
    const { progress, buttons, jobId } = await finishedVideo('origami crane', '--seed 5');
    const before = creates(w);
    await w.send.interactive(w.send.blockAction({ actionId: ACTIONS.reroll, value: jobId, userId: BOB, channelId: GENERAL, messageTs: buttons.ts, threadTs: progress.ts }));
    await until(() => w.slack.messages.filter((m) => m.channel === GENERAL && m.threadTs === progress.ts && m.files.length > 0).length === 2, 20_000);
    expect(creates(w)).toBe(before + 1);
    expect(lastCreate(w)).toMatchObject({ prompt: 'origami crane' });
    expect(lastCreate(w).seed).not.toBe(5);
  });

  it('"Animate again" opens the modal with the old prompt and makes a new take in the thread', async () => {
    const { progress, buttons, jobId } = await finishedVideo('paper lanterns rising');
    const opened = w.slack.views.length;
    await w.send.interactive(w.send.blockAction({ actionId: ACTIONS.again, value: jobId, userId: ALICE, channelId: GENERAL, messageTs: buttons.ts, threadTs: progress.ts }));
    const view = await until(() => w.slack.views[opened]);
    const v = view.view as { private_metadata: string; blocks: { block_id: string; element?: { initial_value?: string } }[] };
    expect(v.blocks.find((b) => b.block_id === 'prompt')!.element!.initial_value).toBe('paper lanterns rising');
    await w.send.interactive(w.send.viewSubmission({ callbackId: CALLBACKS.modal, userId: ALICE, privateMetadata: v.private_metadata, values: { prompt: { value: { type: 'plain_text_input', value: 'paper lanterns falling' } } } }));
    await until(() => w.slack.messages.filter((m) => m.threadTs === progress.ts && m.files.length > 0).length === 2, 20_000);
    expect(lastCreate(w)).toMatchObject({ prompt: 'paper lanterns falling' });
  });

  it('animates an image replied into the thread of one of its videos, without a mention', async () => {
    const { progress } = await finishedVideo('a quiet harbour');
    const before = creates(w);
    const file = image();
    await w.send.event(w.send.message({ text: 'boats sail out', userId: BOB, channelId: GENERAL, threadTs: progress.ts, files: [file] }));
    await until(() => w.slack.messages.filter((m) => m.threadTs === progress.ts && m.files.some((f) => f.name.endsWith('.mp4'))).length === 2, 20_000);
    expect(creates(w)).toBe(before + 1);
    expect(lastCreate(w)).toMatchObject({ model: 'bytedance/seedance-1-0-lite-i2v', prompt: 'boats sail out' });
    // A plain chat reply in the thread does not start anything.
    await w.send.event(w.send.message({ text: 'nice one!', userId: BOB, channelId: GENERAL, threadTs: progress.ts }));
    await new Promise((r) => setTimeout(r, 500));
    expect(creates(w)).toBe(before + 1);
  });

  it('deletes only for the requester or an admin', async () => {
    const { progress, buttons, jobId } = await finishedVideo('a bubble pops');
    const n = ephemeralFor(w, BOB).length;
    await w.send.interactive(w.send.blockAction({ actionId: ACTIONS.delete, value: jobId, userId: BOB, channelId: GENERAL, messageTs: buttons.ts, threadTs: progress.ts }));
    expect((await until(() => ephemeralFor(w, BOB)[n])).text).toContain('Only the person who asked');
    await w.send.interactive(w.send.blockAction({ actionId: ACTIONS.delete, value: jobId, userId: ADMIN, channelId: GENERAL, messageTs: buttons.ts, threadTs: progress.ts }));
    await until(() => calls('files.delete').length > 0 && w.slack.messages.find((m) => m.ts === buttons.ts)!.deleted);
  });

  it('cancels a running job for its requester', async () => {
    await w.send.command({ command: '/video', text: 'a very slow render', userId: ALICE, channelId: GENERAL });
    const progress = await until(() => botPosts(w, GENERAL).find((m) => !m.threadTs && m.history[0]!.text.includes('a very slow render')));
    const jobId = await until(() => /"action_id":"sd_cancel","value":"([\w-]+)"/.exec(JSON.stringify(w.slack.messages.find((m) => m.ts === progress.ts)!.blocks ?? []))?.[1]);
    await w.send.interactive(w.send.blockAction({ actionId: ACTIONS.cancel, value: jobId, userId: ALICE, channelId: GENERAL, messageTs: progress.ts }));
    await until(() => w.slack.messages.find((m) => m.ts === progress.ts)!.text.includes('Cancelled'));
    await new Promise((r) => setTimeout(r, 1500));
    expect(videoIn(w, GENERAL, progress.ts)).toBeUndefined();
  });
});

describe('Slack refusing for a moment', () => {
  it("still starts a job whose first message Slack refused once (429) and then failed (503)", async () => {
    const before = creates(w);
    w.slack.addFault({ method: 'chat.postMessage', status: 429, retryAfterSeconds: 1 });
    w.slack.addFault({ method: 'chat.postMessage', status: 503 });
    await w.send.command({ command: '/video', text: 'first message refused twice', userId: ALICE, channelId: GENERAL });
    const progress = await until(() => botPosts(w, GENERAL).find((m) => !m.threadTs && m.history[0]!.text.includes('first message refused twice')), 20_000);
    await until(() => videoIn(w, GENERAL, progress.ts), 20_000);
    expect(creates(w)).toBe(before + 1);
    expect(botPosts(w, GENERAL).filter((m) => !m.threadTs && m.history[0]!.text.includes('first message refused twice'))).toHaveLength(1);
  });
});

describe('restart', () => {
  it('delivers a job once after the bot is killed mid-render', async () => {
    const before = creates(w);
    await w.send.command({ command: '/video', text: 'survives a crash', userId: ALICE, channelId: GENERAL });
    const progress = await until(() => botPosts(w, GENERAL).find((m) => !m.threadTs && m.history[0]!.text.includes('survives a crash')));
    await until(() => [...w.emulator.jobs.values()].some((j) => String(j.body.prompt) === 'survives a crash' && j.statusPolls > 0), 20_000);
    await w.stopBot('SIGKILL');
    await w.startBot();
    await until(() => videoIn(w, GENERAL, progress.ts), 20_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(w.slack.messages.filter((m) => m.threadTs === progress.ts && m.files.length > 0)).toHaveLength(1);
    expect(creates(w)).toBe(before + 1);
  });
});

describe('app manifest', () => {
  it('declares what the code listens for and the scopes it needs', () => {
    expect(manifest.features.shortcuts.map((s) => s.callback_id).sort()).toEqual([CALLBACKS.globalShortcut, CALLBACKS.messageShortcut].sort());
    expect(manifest.features.slash_commands[0]!.command).toBe(CALLBACKS.command);
    for (const scope of ['files:read', 'files:write', 'chat:write', 'commands', 'app_mentions:read']) expect(manifest.oauth_config.scopes.bot).toContain(scope);
    expect(manifest.settings.event_subscriptions.bot_events).toContain('app_mention');
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
  });
});
