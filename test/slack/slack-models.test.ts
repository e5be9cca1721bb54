/**
 * Slack end to end with the newer models: the form's several files, its length
 * number and Sound box, /video and mention flags, and a message shortcut on several
 * images, each reaching the AIML create body under the name its schema gives it.
 * Problems show on the form field they concern, and no create request reaches the
 * emulator.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIONS, CALLBACKS } from '../../src/surfaces/slack/slack-refs.js';
import { PNG, botPosts, createSlackWorld, creates, videoIn } from './slack-world.js';
import type { SlackWorld } from './slack-world.js';

const JPG = readFileSync(new URL('../fixtures/green-400x300.jpg', import.meta.url));
const GENERAL = 'C0GENERAL';
const ALICE = 'U0ALICE';
const BOB = 'U0BOB';
let w: SlackWorld;

beforeAll(async () => {
  w = await createSlackWorld();
  await w.startBot();
}, 60_000);
afterAll(async () => {
  await w?.close();
});

const until = <T>(fn: () => T | undefined | false, ms = 15_000) => w.slack.waitFor(fn, ms) as Promise<T>;
const png = () => w.slack.addUserFile({ name: 'red.png', mimetype: 'image/png', data: PNG, width: 320, height: 320 });
const jpg = () => w.slack.addUserFile({ name: 'green.jpg', mimetype: 'image/jpeg', data: JPG, width: 400, height: 300 });
const PNG_URI = `data:image/png;base64,${PNG.toString('base64')}`;
const JPG_URI = `data:image/jpeg;base64,${JPG.toString('base64')}`;
/** The AIML create bodies the emulator accepted, oldest first. */
const accepted = () => w.emulator.requests.filter((r) => r.method === 'POST' && r.path.startsWith('/v2/video/generations') && r.status < 300).map((r) => r.body as Record<string, unknown>);
const lastBody = () => accepted().at(-1)!;

type Values = Record<string, Record<string, unknown>>;
const text = (value: string) => ({ value: { type: 'plain_text_input', value } });
const choice = (value: string) => ({ value: { type: 'static_select', selected_option: { value } } });
const files = (list: unknown[]) => ({ value: { type: 'file_input', files: list } });
const number = (value: string) => ({ value: { type: 'number_input', value } });
const checks = (values: string[]) => ({ value: { type: 'checkboxes', selected_options: values.map((value) => ({ value })) } });
const here = { conversation: { value: { type: 'conversations_select', selected_conversation: GENERAL } } };

/** Submits the form; `blocks` as Slack sends them, those of the view that was opened. */
async function submit(values: Values, privateMetadata = JSON.stringify({ kind: 'global' }), blocks?: unknown[]) {
  return w.send.interactive(w.send.viewSubmission({ callbackId: CALLBACKS.modal, userId: ALICE, privateMetadata, values, ...(blocks ? { view: { blocks } } : {}) }));
}

describe('the form', () => {
  it('offers several files, a length from 4 to 30 and a Sound box checked by default', async () => {
    const opened = w.slack.views.length;
    await w.send.interactive(w.send.globalShortcut({ callbackId: CALLBACKS.globalShortcut, userId: ALICE }));
    const view = (await until(() => w.slack.views[opened])).view as { blocks: { block_id: string; element: Record<string, unknown> }[] };
    const block = (id: string) => view.blocks.find((b) => b.block_id === id)!;
    expect(block('image').element).toMatchObject({ type: 'file_input', max_files: 10 });
    expect(block('duration').element).toMatchObject({ type: 'number_input', min_value: '4', max_value: '30' });
    expect(block('sound').element).toMatchObject({ type: 'checkboxes', initial_options: [{ value: 'on' }] });
    expect(JSON.stringify(block('resolution'))).toContain('"value":"4k"');
  });

  it('three files on 2.0 are reference images; the length and an unchecked Sound box reach the body', async () => {
    const before = creates(w);
    const res = await submit({
      prompt: text('@Image1 and @Image2 paint @Image3'),
      image: files([png(), jpg(), png()]),
      model: choice('2.0'),
      duration: number('12'),
      sound: checks([]),
      ...here,
    });
    expect(res.body).not.toContain('errors');
    const progress = await until(() => botPosts(w, GENERAL).find((m) => !m.threadTs && m.history[0]!.text.includes('paint @Image3')));
    await until(() => videoIn(w, GENERAL, progress.ts), 20_000);
    expect(creates(w)).toBe(before + 1);
    const body = lastBody();
    expect(body).toMatchObject({ model: 'bytedance/seedance-2-0', prompt: '@Image1 and @Image2 paint @Image3', duration: 12, generate_audio: false });
    // Slack files are private: the bytes go inline, in the order given.
    expect(body.image_urls).toEqual([PNG_URI, JPG_URI, PNG_URI]);
    expect(body).not.toHaveProperty('image_url');
  });

  it('one file stays the first frame; the checked box leaves sound on', async () => {
    await submit({ prompt: text('the square spins'), image: files([png()]), model: choice('1.5-pro'), sound: checks(['on']), flags: checks(['fixed_camera']), ...here });
    const progress = await until(() => botPosts(w, GENERAL).find((m) => !m.threadTs && m.history[0]!.text.includes('the square spins')));
    await until(() => videoIn(w, GENERAL, progress.ts), 20_000);
    expect(lastBody()).toMatchObject({ model: 'bytedance/seedance-1-5-pro', image_url: PNG_URI, generate_audio: true, camera_fixed: true });
    expect(lastBody()).not.toHaveProperty('image_urls');
  });

  it('shows each problem on its field, downloads and submits nothing', async () => {
    const before = creates(w);
    const gets = w.slack.calls.filter((c) => c.method === 'FILE_GET').length;
    const cases: [Values, string, string][] = [
      [{ prompt: text('x'), model: choice('2.0-fast'), resolution: choice('1080p') }, 'resolution', '2.0-fast renders at most 720p'],
      [{ prompt: text('x'), model: choice('lite'), duration: number('7') }, 'duration', 'lite makes 5 or 10 s clips'],
      [{ prompt: text('x'), model: choice('2.5'), duration: number('3') }, 'duration', '2.5 makes 4 to 30 s clips'],
      [{ prompt: text('x'), image: files(Array.from({ length: 10 }, png)), model: choice('2.0') }, 'image', 'at most 9 reference images fit with 2.0; you gave 10'],
      [{ prompt: text('x'), image: files([png(), jpg()]) }, 'image', 'lite takes no reference images; 2.0, 2.0-fast, 2.0-mini, 2.5 or 2.5-dreamina do'],
      [{ prompt: text('@Image3 waves'), image: files([png(), jpg()]), model: choice('2.0') }, 'prompt', 'the prompt names @Image3, but only 2 reference images were given'],
    ];
    for (const [values, field, message] of cases) {
      const res = await submit({ ...values, ...here });
      const answer = JSON.parse(res.body) as { response_action: string; errors: Record<string, string> };
      expect(answer.response_action).toBe('errors');
      expect(answer.errors).toEqual({ [field]: message });
    }
    expect(creates(w)).toBe(before);
    expect(w.slack.calls.filter((c) => c.method === 'FILE_GET').length).toBe(gets);
  });
});

describe('flags and messages', () => {
  it('/video --2.0 --no-audio --duration 12', async () => {
    await w.send.command({ command: '/video', text: 'a paper boat --2.0 --no-audio --duration 12', userId: ALICE, channelId: GENERAL });
    const progress = await until(() => botPosts(w, GENERAL).find((m) => !m.threadTs && m.history[0]!.text.includes('a paper boat')));
    await until(() => videoIn(w, GENERAL, progress.ts), 20_000);
    expect(lastBody()).toMatchObject({ model: 'bytedance/seedance-2-0', prompt: 'a paper boat', duration: 12, generate_audio: false });
  });

  it('a mention with two images on --2.5 uses them as reference images, and a re-roll fetches them again', async () => {
    const ts = `${Math.floor(Date.now() / 1000)}.000200`;
    await w.send.event(w.send.appMention({ text: `<@${w.slack.botUserId}> @Image1 chases @Image2 --2.5`, userId: ALICE, channelId: GENERAL, ts, files: [jpg(), png()] }));
    await until(() => videoIn(w, GENERAL, ts), 20_000);
    expect(lastBody()).toMatchObject({ model: 'bytedance/seedance-2-5', prompt: '@Image1 chases @Image2', image_urls: [JPG_URI, PNG_URI] });

    const buttons = await until(() => botPosts(w, GENERAL, ts).find((m) => JSON.stringify(m.blocks ?? []).includes(ACTIONS.reroll)), 20_000);
    const jobId = /"action_id":"sd_reroll","value":"([\w-]+)"/.exec(JSON.stringify(buttons.blocks))![1]!;
    await until(() => w.slack.messages.some((m) => m.threadTs === ts && m.text.includes('Done')), 20_000);
    const gets = w.slack.calls.filter((c) => c.method === 'FILE_GET').length;
    await w.send.interactive(w.send.blockAction({ actionId: ACTIONS.reroll, value: jobId, userId: ALICE, channelId: GENERAL, messageTs: buttons.ts, threadTs: ts }));
    await until(() => w.slack.messages.filter((m) => m.threadTs === ts && m.files.some((f) => f.name.endsWith('.mp4'))).length === 2, 20_000);
    expect(lastBody()).toMatchObject({ model: 'bytedance/seedance-2-5', image_urls: [JPG_URI, PNG_URI] });
    expect(w.slack.calls.filter((c) => c.method === 'FILE_GET').length).toBe(gets + 2);
  });

  it('"Animate this image" on a message with two images: references, with the ratio to pick', async () => {
    const [a, b] = [png(), jpg()];
    const original = w.slack.addUserMessage({ channel: GENERAL, user: BOB, text: 'our two cats', files: [a, b] });
    const opened = w.slack.views.length;
    await w.send.interactive(w.send.messageShortcut({ callbackId: CALLBACKS.messageShortcut, userId: ALICE, channelId: GENERAL, message: { ts: original.ts, text: 'our two cats', user: BOB, files: [a, b] } }));
    const view = (await until(() => w.slack.views[opened])).view as { private_metadata: string; title: { text: string }; blocks: { block_id: string }[] };
    expect(view.title.text).toBe('Animate these images');
    expect(view.blocks.map((x) => x.block_id)).toContain('ratio');
    const before = creates(w);
    // On the default model (lite) the form says, on the model field, which models take them.
    const refused = JSON.parse((await submit({ prompt: text('@Image1 meets @Image2') }, view.private_metadata, view.blocks)).body) as { errors: Record<string, string> };
    expect(refused.errors).toEqual({ model: 'lite takes no reference images; 2.0, 2.0-fast, 2.0-mini, 2.5 or 2.5-dreamina do' });
    expect(creates(w)).toBe(before);

    await submit({ prompt: text('@Image1 meets @Image2'), model: choice('2.0-mini'), ratio: choice('9:16') }, view.private_metadata, view.blocks);
    await until(() => videoIn(w, GENERAL, original.ts), 20_000);
    expect(lastBody()).toMatchObject({ model: 'bytedance/dreamina-seedance-2-0-mini', aspect_ratio: '9:16', image_urls: [PNG_URI, JPG_URI] });
  });
});
