// Signed events and interactivity payloads from the sender reach the matching Bolt listeners with Slack's fields.
import type { BlockAction, ButtonAction, GlobalShortcut, MessageShortcut, ViewSubmitAction, types } from '@slack/bolt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHarness } from './bolt-harness.js';
import type { BoltHarness } from './bolt-harness.js';

let h: BoltHarness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.stop();
  // Bolt swallows listener exceptions (including failed expects inside listeners): surface them here.
  expect(h.errors).toEqual([]);
});

describe('signed events and interactivity reach Bolt listeners', () => {
  it('delivers an app_mention with files; the handler can reply in the thread', async () => {
    const seen: types.AppMentionEvent[] = [];
    h.app.event('app_mention', async ({ event, say }) => {
      seen.push(event);
      await say({ text: 'On it', thread_ts: event.ts });
    });
    const file = h.standin.addUserFile({ name: 'cat.jpg', mimetype: 'image/jpeg', data: Buffer.from('jpegdata'), width: 800, height: 600 });
    const event = h.sender.appMention({ text: '<@U0BOT0001> animate this', files: [file], ts: '1700000000.000100' });
    const res = await h.sender.event(event);
    expect(res.status).toBe(200);
    const reply = await h.standin.waitFor(() => h.standin.messages.find((m) => m.text === 'On it'));
    expect(reply).toMatchObject({ channel: 'C0GENERAL', threadTs: '1700000000.000100', user: 'U0BOT0001' });
    expect(seen[0]).toMatchObject({ type: 'app_mention', user: 'U0ALICE', channel: 'C0GENERAL', text: '<@U0BOT0001> animate this' });
    const files = (seen[0] as unknown as { files: { id: string; url_private_download: string }[] }).files;
    expect(files[0]).toMatchObject({ id: file.id, url_private_download: file.url_private_download });
  });

  it('delivers a message event with subtype file_share in an IM to app.message', async () => {
    const seen: Record<string, unknown>[] = [];
    h.app.message(async ({ message }) => {
      seen.push(message as unknown as Record<string, unknown>);
    });
    const file = h.standin.addUserFile({ name: 'dog.png', mimetype: 'image/png', data: Buffer.from('png') });
    await h.sender.event(h.sender.message({ text: 'make it move', channelId: 'D0ALICE', files: [file] }));
    await h.standin.waitFor(() => seen.length > 0);
    expect(seen[0]).toMatchObject({ channel: 'D0ALICE', channel_type: 'im', subtype: 'file_share', text: 'make it move', user: 'U0ALICE' });
  });

  it('delivers a global shortcut whose trigger_id opens a modal', async () => {
    const seen: GlobalShortcut[] = [];
    h.app.shortcut('make_video', async ({ ack, shortcut, client }) => {
      await ack();
      seen.push(shortcut as GlobalShortcut);
      await client.views.open({ trigger_id: shortcut.trigger_id, view: { type: 'modal', title: { type: 'plain_text', text: 'Video' }, blocks: [] } });
    });
    const payload = h.sender.globalShortcut({ callbackId: 'make_video', userId: 'U0BOB' });
    const res = await h.sender.interactive(payload);
    expect(res.status).toBe(200);
    const view = await h.standin.waitFor(() => h.standin.views[0]);
    expect(view.triggerId).toBe(payload.trigger_id);
    expect(seen[0]).toMatchObject({ type: 'shortcut', callback_id: 'make_video', user: { id: 'U0BOB', username: 'bob' }, team: { id: 'T0000TEST' } });
    expect(seen[0]).not.toHaveProperty('channel');
  });

  it('delivers a message shortcut with the message, its files, channel and a working response_url', async () => {
    const seen: MessageShortcut[] = [];
    const file = h.standin.addUserFile({ name: 'cat.png', mimetype: 'image/png', data: Buffer.from('png'), width: 640, height: 640 });
    const original = h.standin.addUserMessage({ channel: 'C0RANDOM', user: 'U0BOB', text: 'look', files: [file] });
    h.app.shortcut({ callback_id: 'animate', type: 'message_action' }, async ({ ack, shortcut, respond }) => {
      await ack();
      seen.push(shortcut);
      await respond({ text: 'Animating…', response_type: 'ephemeral' });
    });
    await h.sender.interactive(h.sender.messageShortcut({ callbackId: 'animate', channelId: 'C0RANDOM', message: { ts: original.ts, user: 'U0BOB', text: 'look', files: [file] } }));
    const eph = await h.standin.waitFor(() => h.standin.messages.find((m) => m.text === 'Animating…'));
    expect(eph).toMatchObject({ channel: 'C0RANDOM', ephemeralTo: 'U0ALICE' });
    expect(seen[0]).toMatchObject({ type: 'message_action', callback_id: 'animate', channel: { id: 'C0RANDOM', name: 'random' }, message_ts: original.ts });
    expect(seen[0]?.message).toMatchObject({ ts: original.ts, user: 'U0BOB', files: [{ id: file.id, original_w: 640 }] });
  });

  it('delivers a view_submission with input, select, conversation and file values', async () => {
    const seen: ViewSubmitAction[] = [];
    h.app.view<ViewSubmitAction>('video_modal', async ({ ack, view, body }) => {
      await ack();
      seen.push(body);
      expect(view.callback_id).toBe('video_modal');
    });
    const file = h.standin.addUserFile({ name: 'start.png', mimetype: 'image/png', data: Buffer.from('png') });
    const res = await h.sender.interactive(
      h.sender.viewSubmission({
        callbackId: 'video_modal',
        privateMetadata: '{"origin":"shortcut"}',
        values: {
          prompt: { prompt_input: { type: 'plain_text_input', value: 'a cat on a skateboard' } },
          model: { model_select: { type: 'static_select', selected_option: { text: { type: 'plain_text', text: 'Pro' }, value: 'pro' } } },
          where: { channel_select: { type: 'conversations_select', selected_conversation: 'C0GENERAL' } },
          image: { image_input: { type: 'file_input', files: [file] } },
        },
      }),
    );
    expect(res.status).toBe(200);
    expect(seen).toHaveLength(1);
    const values = seen[0]?.view.state.values;
    expect(values?.prompt?.prompt_input?.value).toBe('a cat on a skateboard');
    expect(values?.model?.model_select?.selected_option?.value).toBe('pro');
    expect(values?.where?.channel_select?.selected_conversation).toBe('C0GENERAL');
    expect((values?.image?.image_input as unknown as { files: { id: string }[] }).files[0]?.id).toBe(file.id);
    expect(seen[0]?.view.private_metadata).toBe('{"origin":"shortcut"}');
    expect(seen[0]?.user.id).toBe('U0ALICE');
  });

  it('delivers a block action; respond() with replace_original edits the bot message', async () => {
    const seen: BlockAction<ButtonAction>[] = [];
    const posted = await h.app.client.chat.postMessage({ channel: 'C0GENERAL', text: 'Video ready', blocks: [{ type: 'actions', elements: [] }] });
    h.app.action<BlockAction<ButtonAction>>('retry', async ({ ack, body, respond }) => {
      await ack();
      seen.push(body);
      await respond({ text: 'Retrying…', replace_original: true });
    });
    await h.sender.interactive(h.sender.blockAction({ actionId: 'retry', value: 'job-42', userId: 'U0BOB', messageTs: posted.ts as string, threadTs: posted.ts as string }));
    await h.standin.waitFor(() => h.standin.messages.find((m) => m.ts === posted.ts && m.text === 'Retrying…'));
    expect(seen[0]?.actions[0]).toMatchObject({ action_id: 'retry', value: 'job-42', type: 'button' });
    expect(seen[0]).toMatchObject({ user: { id: 'U0BOB' }, channel: { id: 'C0GENERAL' }, container: { message_ts: posted.ts, thread_ts: posted.ts } });
    expect(h.standin.calls.find((c) => c.method === 'RESPONSE_URL')?.args).toMatchObject({ replace_original: true, text: 'Retrying…' });
  });
});
