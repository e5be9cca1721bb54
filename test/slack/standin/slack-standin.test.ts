// The stand-in against an unmodified @slack/bolt App: auth, signing, commands, views, chat.*, faults, uploads, files.
import type { SlashCommand } from '@slack/bolt';
import { webApi } from '@slack/bolt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rejectionOf } from '../../helpers/rejection.js';
import { startHarness } from './bolt-harness.js';
import type { BoltHarness } from './bolt-harness.js';

const modal = { type: 'modal' as const, callback_id: 'video_modal', title: { type: 'plain_text' as const, text: 'Make a video' }, blocks: [] };
const platformError = (e: unknown): string | undefined => (e as webApi.WebAPIPlatformError).data?.error;

let h: BoltHarness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.stop();
  // Bolt swallows listener exceptions (including failed expects inside listeners): surface them here.
  expect(h.errors).toEqual([]);
});

describe('Bolt app against the Slack stand-in', () => {
  it('records auth.test from App construction with the bot token', async () => {
    const call = await h.standin.waitFor(() => h.standin.calls.find((c) => c.method === 'auth.test'));
    expect(call.auth).toBe('Bearer xoxb-test-token');
    expect(call.response).toMatchObject({ ok: true, user_id: 'U0BOT0001', bot_id: 'B0BOT0001', team_id: 'T0000TEST' });
  });

  it('delivers a signed slash command to app.command and acks with 200; a bad signature gets 401', async () => {
    const seen: SlashCommand[] = [];
    h.app.command('/video', async ({ ack, command }) => {
      seen.push(command);
      await ack();
    });
    const res = await h.sender.command({ command: '/video', text: 'a cat surfing', userId: 'U0BOB', channelId: 'C0RANDOM' });
    expect(res.status).toBe(200);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ command: '/video', text: 'a cat surfing', user_id: 'U0BOB', user_name: 'bob', channel_id: 'C0RANDOM', team_id: 'T0000TEST' });
    expect(seen[0]?.trigger_id).toMatch(/^\d+\.\d+\.[0-9a-f]+$/);

    const body = new URLSearchParams({ command: '/video', text: 'forged', team_id: 'T0000TEST', user_id: 'U0BOB' }).toString();
    const forged = await h.sender.sendRaw({ body, contentType: 'application/x-www-form-urlencoded', signature: `v0=${'0'.repeat(64)}` });
    expect(forged.status).toBe(401);
    const stale = await h.sender.sendRaw({ body, contentType: 'application/x-www-form-urlencoded', timestamp: Math.floor(Date.now() / 1000) - 600 });
    expect(stale.status).toBe(401);
    expect(seen).toHaveLength(1);
    expect(h.logs.filter((l) => l.includes('verify')).length).toBe(2);
  });

  it('answers url_verification with the challenge', async () => {
    const res = await h.sender.urlVerification('challenge-123');
    expect(res.status).toBe(200);
    expect(res.body).toContain('challenge-123');
  });

  it('records views.open with the trigger_id and rejects its reuse with expired_trigger_id', async () => {
    h.app.command('/video', async ({ ack, command, client }) => {
      await ack();
      await client.views.open({ trigger_id: command.trigger_id, view: modal });
    });
    await h.sender.command({ command: '/video', text: '', triggerId: '111.222.abc' });
    const view = await h.standin.waitFor(() => h.standin.views[0]);
    expect(view.triggerId).toBe('111.222.abc');
    expect(view.view).toMatchObject({ callback_id: 'video_modal', title: { text: 'Make a video' } });
    expect(view.viewId).toMatch(/^V/);

    const err = await rejectionOf(h.app.client.views.open({ trigger_id: '111.222.abc', view: modal }), Error);
    expect(platformError(err)).toBe('expired_trigger_id');
    const tooLong = await rejectionOf(h.app.client.views.open({ trigger_id: 'fresh', view: { ...modal, title: { type: 'plain_text', text: 'A title that is far too long' } } }), Error);
    expect(platformError(tooLong)).toBe('invalid_arguments');
  });

  it('posts, updates, deletes and posts ephemerals with Slack errors where Slack gives them', async () => {
    const { client } = h.app;
    const posted = await client.chat.postMessage({ channel: 'C0GENERAL', text: 'Rendering…', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*Rendering*' } }] });
    expect(posted.ts).toMatch(/^\d+\.\d{6}$/);
    const reply = await client.chat.postMessage({ channel: 'C0GENERAL', thread_ts: posted.ts as string, text: 'in thread' });
    await client.chat.update({ channel: 'C0GENERAL', ts: posted.ts as string, text: 'Done' });
    const msg = h.standin.messages.find((m) => m.ts === posted.ts);
    expect(msg?.text).toBe('Done');
    expect(msg?.history.map((v) => v.text)).toEqual(['Rendering…', 'Done']);
    expect(msg?.user).toBe('U0BOT0001');
    expect(h.standin.messages.find((m) => m.ts === reply.ts)?.threadTs).toBe(posted.ts);
    const postCall = h.standin.calls.find((c) => c.method === 'chat.postMessage');
    expect(postCall?.args.blocks).toEqual([{ type: 'section', text: { type: 'mrkdwn', text: '*Rendering*' } }]);

    h.standin.deleteMessage('C0GENERAL', posted.ts as string);
    expect(platformError(await rejectionOf(client.chat.update({ channel: 'C0GENERAL', ts: posted.ts as string, text: 'x' }), Error))).toBe('message_not_found');
    const userMsg = h.standin.addUserMessage({ channel: 'C0GENERAL', user: 'U0ALICE', text: 'hi' });
    expect(platformError(await rejectionOf(client.chat.update({ channel: 'C0GENERAL', ts: userMsg.ts, text: 'x' }), Error))).toBe('cant_update_message');
    expect(platformError(await rejectionOf(client.chat.postMessage({ channel: 'C0NOPE', text: 'x' }), Error))).toBe('channel_not_found');
    h.standin.archiveChannel('C0RANDOM');
    expect(platformError(await rejectionOf(client.chat.postMessage({ channel: 'C0RANDOM', text: 'x' }), Error))).toBe('is_archived');

    const eph = await client.chat.postEphemeral({ channel: 'C0GENERAL', user: 'U0BOB', text: 'only you' });
    expect(h.standin.messages.find((m) => m.ts === eph.message_ts)).toMatchObject({ ephemeralTo: 'U0BOB', text: 'only you' });
    expect(h.standin.visibleMessages('C0GENERAL').map((m) => m.text)).toEqual(['in thread', 'hi']);
  });

  it('surfaces faults: {ok:false} at 200 as a platform error, 429 as a rate-limit error', async () => {
    const { client } = h.app;
    h.standin.addFault({ method: 'chat.postMessage', error: 'fatal_error' });
    expect(platformError(await rejectionOf(client.chat.postMessage({ channel: 'C0GENERAL', text: 'x' }), Error))).toBe('fatal_error');

    h.standin.addFault({ method: 'chat.update', status: 429, retryAfterSeconds: 0 });
    const started = Date.now();
    const limited = await rejectionOf(client.chat.update({ channel: 'C0GENERAL', ts: '1.000001', text: 'x' }), Error);
    expect(limited.message).toMatch(/rate limit was exceeded.*retry-after: 0/);
    expect(Date.now() - started).toBeLessThan(1000);
    const call = h.standin.calls.findLast((c) => c.method === 'chat.update');
    expect(call).toMatchObject({ status: 429, response: { ok: false, error: 'ratelimited' } });
    // The fault is used up: the next call reaches the handler.
    expect(platformError(await rejectionOf(client.chat.update({ channel: 'C0GENERAL', ts: '1.000001', text: 'x' }), Error))).toBe('message_not_found');
  });

  it('makes a rejectRateLimitedCalls client throw a coded RateLimitedError with retryAfter', async () => {
    const strict = new webApi.WebClient(h.standin.botToken, { slackApiUrl: `${h.standin.url}/api/`, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true, logLevel: webApi.LogLevel.ERROR });
    h.standin.addFault({ method: 'chat.postMessage', retryAfterSeconds: 7 });
    const err = (await rejectionOf(strict.chat.postMessage({ channel: 'C0GENERAL', text: 'x' }), Error)) as webApi.WebAPIRateLimitedError;
    expect(err.code).toBe(webApi.ErrorCode.RateLimitedError);
    expect(err.retryAfter).toBe(7);
  });

  it('runs files.uploadV2 through getUploadURLExternal → upload → completeUploadExternal into the thread', async () => {
    const parent = await h.app.client.chat.postMessage({ channel: 'C0GENERAL', text: 'Rendering…' });
    const bytes = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7) % 256));
    const res = await h.app.client.files.uploadV2({ channel_id: 'C0GENERAL', thread_ts: parent.ts as string, file: bytes, filename: 'seedance.mp4', title: 'A cat', initial_comment: 'Here it is' });
    expect(res.ok).toBe(true);
    expect(h.standin.calls.map((c) => c.method).filter((m) => m.startsWith('files.') || m === 'UPLOAD')).toEqual([
      'files.getUploadURLExternal',
      'UPLOAD',
      'files.completeUploadExternal',
    ]);
    expect(h.standin.calls.find((c) => c.method === 'files.getUploadURLExternal')?.args).toMatchObject({ filename: 'seedance.mp4', length: '5000' });
    expect(h.standin.calls.find((c) => c.method === 'files.completeUploadExternal')?.args).toMatchObject({ channel_id: 'C0GENERAL', thread_ts: parent.ts, files: [{ title: 'A cat' }] });
    const msg = h.standin.messages.find((m) => m.files.length > 0);
    expect(msg).toMatchObject({ channel: 'C0GENERAL', threadTs: parent.ts, text: 'Here it is', user: 'U0BOT0001' });
    expect(msg?.files[0]).toMatchObject({ name: 'seedance.mp4', title: 'A cat', size: 5000, mimetype: 'video/mp4' });
    expect(msg?.files[0]?.data?.equals(bytes)).toBe(true);
    const stored = [...h.standin.files.values()][0];
    expect(stored).toMatchObject({ channels: ['C0GENERAL'], threadTs: parent.ts, uploadedVia: 'external' });

    h.standin.archiveChannel('C0GENERAL');
    const err = await rejectionOf(h.app.client.files.uploadV2({ channel_id: 'C0GENERAL', file: bytes, filename: 'x.mp4' }), Error);
    expect(platformError(err)).toBe('is_archived');
  });

  it('serves private files only with the bot token and files:read, else a 200 HTML sign-in page', async () => {
    const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(64, 7)]);
    const file = h.standin.addUserFile({ name: 'cat.png', mimetype: 'image/png', data: png, width: 1024, height: 768 });
    expect(file).toMatchObject({ name: 'cat.png', filetype: 'png', size: png.length, original_w: 1024, original_h: 768 });
    expect(file.url_private_download.startsWith(`${h.standin.url}/files-pri/T0000TEST-${file.id}/`)).toBe(true);

    const ok = await fetch(file.url_private_download, { headers: { authorization: `Bearer ${h.standin.botToken}` } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await ok.arrayBuffer()).equals(png)).toBe(true);

    const anonymous = await fetch(file.url_private);
    expect(anonymous.status).toBe(200);
    expect(anonymous.headers.get('content-type')).toMatch(/^text\/html/);

    h.standin.setFilesReadScope(false);
    const noScope = await fetch(file.url_private_download, { headers: { authorization: `Bearer ${h.standin.botToken}` } });
    expect(noScope.status).toBe(200);
    expect(noScope.headers.get('content-type')).toMatch(/^text\/html/);
    const body = Buffer.from(await noScope.arrayBuffer());
    expect(body.subarray(0, 8).equals(png.subarray(0, 8))).toBe(false);
    expect(body.toString('utf8')).toContain('<html');
    expect(h.standin.calls.filter((c) => c.method === 'FILE_GET').map((c) => c.args.authorized)).toEqual([true, false, true]);
  });
});
