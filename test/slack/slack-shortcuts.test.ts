/**
 * The "Animate this image" message shortcut end to end (HTTP mode, the real bot
 * process): the modal's private_metadata carries ids only (Slack refuses more
 * than 3,000 characters with invalid_arguments), the file is looked up with
 * files.info on submit, and a modal Slack won't open is reported to the user.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALLBACKS } from '../../src/surfaces/slack/slack-refs.js';
import { PNG, createSlackWorld, creates, ephemeralFor, lastCreate, videoIn } from './slack-world.js';
import type { SlackWorld } from './slack-world.js';
import type { SlackFileObject } from './standin/slack-standin.js';

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
const calls = (method: string) => w.slack.calls.filter((c) => c.method === method);

/** A 2,500-character file name, and the many extra fields Slack puts on a file in a message (thumbnails carry the name too). */
function bulkyImage(): SlackFileObject & Record<string, unknown> {
  const name = `${'a-very-long-holiday-photo-name-'.repeat(100)}`.slice(0, 2496) + '.png';
  expect(name).toHaveLength(2500);
  const file = w.slack.addUserFile({ name, mimetype: 'image/png', data: PNG, width: 320, height: 320, user: BOB });
  const tmb = `${w.slack.url}/files-tmb/${w.slack.teamId}-${file.id}-0123456789/${encodeURIComponent(name.replace(/\.png$/, ''))}`;
  const extra: Record<string, unknown> = {
    has_rich_preview: false,
    file_access: 'visible',
    media_display_type: 'unknown',
    image_exif_rotation: 1,
    is_starred: false,
    comments_count: 0,
    channels: [GENERAL],
    groups: [],
    ims: [],
    shares: { public: { [GENERAL]: [{ reply_users: [], reply_users_count: 0, reply_count: 0, ts: '1700000000.000100', channel_name: 'general', team_id: w.slack.teamId, share_user_id: BOB }] } },
  };
  for (const size of [64, 80, 160, 360, 480, 720, 800, 960, 1024]) {
    extra[`thumb_${size}`] = `${tmb}_${size}.png`;
    extra[`thumb_${size}_w`] = Math.min(size, 320);
    extra[`thumb_${size}_h`] = Math.min(size, 320);
  }
  return { ...file, ...extra };
}

async function shortcutOn(file: SlackFileObject, text: string, threadTs?: string) {
  const original = w.slack.addUserMessage({ channel: GENERAL, user: BOB, text, files: [file], ...(threadTs ? { threadTs } : {}) });
  await w.send.interactive(
    w.send.messageShortcut({ callbackId: CALLBACKS.messageShortcut, userId: ALICE, channelId: GENERAL, message: { ts: original.ts, text, user: BOB, files: [file], ...(threadTs ? { thread_ts: threadTs } : {}) } }),
  );
  return original;
}

describe('"Animate this image" with a bulky file object', () => {
  it('opens the modal with ids only in private_metadata, looks the file up on submit and delivers the video', async () => {
    const file = bulkyImage();
    expect(JSON.stringify(file).length).toBeGreaterThan(3000); // the old metadata could never fit
    const opened = w.slack.views.length;
    const before = creates(w);
    const original = await shortcutOn(file, 'a lighthouse at dusk');

    const view = await until(() => w.slack.views[opened]);
    const v = view.view as { private_metadata: string };
    expect(v.private_metadata.length).toBeLessThanOrEqual(3000);
    expect(v.private_metadata).not.toContain('a-very-long-holiday-photo-name');
    expect(JSON.parse(v.private_metadata)).toMatchObject({ kind: 'animate', channel: GENERAL, thread: original.ts, fileId: file.id });

    const lookups = calls('files.info').length;
    const res = await w.send.interactive(
      w.send.viewSubmission({ callbackId: CALLBACKS.modal, userId: ALICE, privateMetadata: v.private_metadata, values: { prompt: { value: { type: 'plain_text_input', value: 'the light sweeps the sea' } } } }),
    );
    expect(res.status).toBe(200);
    expect(res.body).not.toContain('errors');

    const video = await until(() => videoIn(w, GENERAL, original.ts), 20_000);
    expect(video.files[0]!.name).toMatch(/\.mp4$/);
    expect(creates(w)).toBe(before + 1);
    // The file came from files.info, with the bot token, and its bytes went to the provider inline.
    const info = calls('files.info').slice(lookups);
    expect(info).toHaveLength(1);
    expect(info[0]!.args).toMatchObject({ file: file.id });
    expect(info[0]!.auth).toBe(`Bearer ${w.slack.botToken}`);
    expect(info[0]!.response).toMatchObject({ ok: true, file: { id: file.id, name: file.name } });
    const get = calls('FILE_GET').at(-1)!;
    expect(get.args).toMatchObject({ file_id: file.id, authorized: true });
    expect(lastCreate(w)).toMatchObject({ model: 'bytedance/seedance-1-0-lite-i2v', prompt: 'the light sweeps the sea', image_url: `data:image/png;base64,${PNG.toString('base64')}` });
  });

  it('shows an inline error, and submits nothing, when the file is gone by the time the modal is submitted', async () => {
    const file = bulkyImage();
    const opened = w.slack.views.length;
    await shortcutOn(file, 'soon deleted');
    const v = (await until(() => w.slack.views[opened])).view as { private_metadata: string };
    w.slack.userFiles.delete(file.id); // files.info → file_not_found
    const before = creates(w);
    const res = await w.send.interactive(
      w.send.viewSubmission({ callbackId: CALLBACKS.modal, userId: ALICE, privateMetadata: v.private_metadata, values: { prompt: { value: { type: 'plain_text_input', value: 'gone' } } } }),
    );
    const answer = JSON.parse(res.body) as { response_action: string; errors: Record<string, string> };
    expect(answer.response_action).toBe('errors');
    expect(Object.values(answer.errors).join(' ')).toMatch(/image/i);
    await new Promise((r) => setTimeout(r, 500));
    expect(creates(w)).toBe(before);
  });
});

describe('a modal Slack refuses to open', () => {
  it('tells the user privately when views.open fails', async () => {
    const file = w.slack.addUserFile({ name: 'photo.png', mimetype: 'image/png', data: PNG, width: 320, height: 320, user: BOB });
    const n = ephemeralFor(w, ALICE).length;
    const failed = calls('views.open').length;
    w.slack.addFault({ method: 'views.open', error: 'expired_trigger_id' });
    await shortcutOn(file, 'an unlucky click');
    const e = await until(() => ephemeralFor(w, ALICE)[n]);
    expect(calls('views.open').length).toBe(failed + 1);
    expect(calls('views.open').at(-1)!.response).toMatchObject({ ok: false, error: 'expired_trigger_id' });
    expect(e.channel).toBe(GENERAL);
    expect(e.threadTs).toBeUndefined(); // a top-level message: in the channel, like "no image to animate"
    expect(e.text).toMatch(/couldn't open/i);
    expect(e.text).toContain('expired_trigger_id');
    expect(e.text).toContain('try again');
  });

  it("tells the user in the app DM when the global shortcut's form cannot open", async () => {
    const posts = () => w.slack.messages.filter((m) => m.channel === ALICE || m.text?.includes("couldn't open the video form"));
    const n = posts().length;
    w.slack.addFault({ method: 'views.open', error: 'expired_trigger_id' });
    await w.send.interactive(w.send.globalShortcut({ callbackId: CALLBACKS.globalShortcut, userId: ALICE }));
    const m = await until(() => posts()[n]);
    expect(m.text).toContain("couldn't open the video form");
    expect(m.text).toContain('expired_trigger_id');
    expect(calls('chat.postMessage').at(-1)!.args).toMatchObject({ channel: ALICE });
  });

  it('also when Slack refuses the view itself (invalid_arguments, from the chaos hook), in the thread of a reply', async () => {
    const file = w.slack.addUserFile({ name: 'photo.png', mimetype: 'image/png', data: PNG, width: 320, height: 320, user: BOB });
    const parent = w.slack.addUserMessage({ channel: GENERAL, user: BOB, text: 'a thread' });
    const n = ephemeralFor(w, ALICE).length;
    w.slack.setChaos((req) => (req.method === 'views.open' ? { error: 'invalid_arguments' } : undefined));
    try {
      await shortcutOn(file, 'refused view', parent.ts);
      const e = await until(() => ephemeralFor(w, ALICE)[n]);
      expect(e.text).toMatch(/couldn't open/i);
      expect(e.text).toContain('invalid_arguments');
      expect(e.threadTs).toBe(parent.ts);
    } finally {
      w.slack.setChaos(undefined);
    }
  });
});

describe('the stand-in', () => {
  const api = async (method: string, args: Record<string, unknown>) =>
    (await (await fetch(`${w.slack.url}/api/${method}`, { method: 'POST', headers: { authorization: `Bearer ${w.slack.botToken}`, 'content-type': 'application/json' }, body: JSON.stringify(args) })).json()) as Record<string, unknown>;

  it('refuses a view whose private_metadata is over 3,000 characters, as Slack does', async () => {
    const view = (meta: string) => ({ type: 'modal', title: { type: 'plain_text', text: 'x' }, blocks: [], private_metadata: meta });
    const refused = await api('views.open', { trigger_id: 'standin-meta-1', view: view('x'.repeat(3001)) });
    expect(refused).toMatchObject({ ok: false, error: 'invalid_arguments', response_metadata: { messages: ['[ERROR] must be less than 3001 characters [json-pointer:/view/private_metadata]'] } });
    expect(await api('views.open', { trigger_id: 'standin-meta-2', view: view('x'.repeat(3000)) })).toMatchObject({ ok: true });
  });

  it('answers files.info for a user\'s file with {ok, file}', async () => {
    const file = w.slack.addUserFile({ name: 'photo.png', mimetype: 'image/png', data: PNG, width: 320, height: 320 });
    expect(await api('files.info', { file: file.id })).toMatchObject({ ok: true, file: { id: file.id, name: 'photo.png', mimetype: 'image/png', original_w: 320, url_private_download: file.url_private_download } });
    expect(await api('files.info', { file: 'F0NOPE' })).toEqual({ ok: false, error: 'file_not_found' });
  });
});
