// The stand-in's Web API over raw HTTP: auth, body formats, scopes, lookups, deletes, upload checks, delays.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSlackStandin } from './slack-standin.js';
import type { SlackStandin } from './slack-standin.js';

let s: SlackStandin;
beforeEach(async () => {
  s = await startSlackStandin({ channels: [{ id: 'C0GENERAL', name: 'general' }, { id: 'C0OUTSIDE', name: 'outside', isMember: false }] });
});
afterEach(async () => {
  await s.close();
});

async function api(method: string, args: Record<string, unknown>, opts: { token?: string | null; form?: boolean } = {}): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const headers: Record<string, string> = {};
  const token = opts.token === undefined ? s.botToken : opts.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: string;
  if (opts.form === true) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(Object.entries(args).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : JSON.stringify(v)])).toString();
  } else {
    headers['content-type'] = 'application/json; charset=utf-8';
    body = JSON.stringify(args);
  }
  const res = await fetch(`${s.url}/api/${method}`, { method: 'POST', headers, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

describe('Slack Web API stand-in over raw HTTP', () => {
  it('checks auth (header or form token) and answers unknown methods and missing scopes like Slack', async () => {
    expect((await api('auth.test', {}, { token: null })).body).toEqual({ ok: false, error: 'not_authed' });
    expect((await api('auth.test', {}, { token: 'xoxb-wrong' })).body).toEqual({ ok: false, error: 'invalid_auth' });
    expect((await api('auth.test', { token: s.botToken }, { token: null, form: true })).body).toMatchObject({ ok: true, user_id: s.botUserId });
    expect((await api('auth.test', { token: s.botToken }, { token: null })).body).toEqual({ ok: false, error: 'not_authed' });
    const unknown = await api('files.upload', {});
    expect(unknown).toMatchObject({ status: 200, body: { ok: false, error: 'unknown_method' } });
    s.scopes.delete('chat:write');
    const noScope = await api('chat.postMessage', { channel: 'C0GENERAL', text: 'x' });
    expect(noScope.body).toMatchObject({ ok: false, error: 'missing_scope', needed: 'chat:write' });
    expect(noScope.headers.get('x-oauth-scopes')).toContain('files:read');
  });

  it('decodes form-encoded JSON fields and validates blocks and channels', async () => {
    const ok = await api('chat.postMessage', { channel: 'C0GENERAL', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'hi' } }] }, { form: true });
    expect(ok.body).toMatchObject({ ok: true, channel: 'C0GENERAL', message: { bot_id: s.botId, blocks: [{ type: 'section' }] } });
    expect(s.calls.at(-1)?.args.blocks).toEqual([{ type: 'section', text: { type: 'mrkdwn', text: 'hi' } }]);
    expect((await api('chat.postMessage', { channel: 'C0GENERAL' })).body.error).toBe('no_text');
    expect((await api('chat.postMessage', { channel: 'C0GENERAL', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(3001) } }] })).body.error).toBe('invalid_blocks');
    expect((await api('chat.postMessage', { channel: 'C0OUTSIDE', text: 'x' })).body.error).toBe('not_in_channel');
    const dm = await api('chat.postMessage', { channel: 'U0BOB', text: 'psst' });
    expect(dm.body.channel).toMatch(/^D/);
  });

  it('answers lookups, deletes and permalinks', async () => {
    expect((await api('conversations.info', { channel: 'C0GENERAL' })).body).toMatchObject({ ok: true, channel: { id: 'C0GENERAL', name: 'general', is_member: true, is_im: false } });
    expect((await api('conversations.info', { channel: 'C0NOPE' })).body.error).toBe('channel_not_found');
    const open = await api('conversations.open', { users: 'U0ALICE' });
    expect(open.body).toMatchObject({ ok: true, channel: { id: expect.stringMatching(/^D/) } });
    expect((await api('users.info', { user: 'U0ADMIN' })).body).toMatchObject({ ok: true, user: { id: 'U0ADMIN', name: 'admin', is_admin: true } });
    expect((await api('users.info', { user: 'U0NOBODY' })).body.error).toBe('user_not_found');

    const posted = await api('chat.postMessage', { channel: 'C0GENERAL', text: 'bye' });
    const ts = posted.body.ts as string;
    expect((await api('chat.getPermalink', { channel: 'C0GENERAL', message_ts: ts })).body.permalink).toContain(`/archives/C0GENERAL/p${ts.replace('.', '')}`);
    const theirs = s.addUserMessage({ channel: 'C0GENERAL', user: 'U0BOB', text: 'mine' });
    expect((await api('chat.delete', { channel: 'C0GENERAL', ts: theirs.ts })).body.error).toBe('cant_delete_message');
    expect((await api('chat.delete', { channel: 'C0GENERAL', ts })).body.ok).toBe(true);
    expect(s.messages.find((m) => m.ts === ts)?.deleted).toBe(true);
    expect((await api('chat.update', { channel: 'C0GENERAL', ts, text: 'again' })).body.error).toBe('message_not_found');
  });

  it('checks upload lengths and file ids', async () => {
    expect((await api('files.getUploadURLExternal', { filename: 'big.mp4', length: 2 * 1024 ** 3 })).body.error).toBe('invalid_length');
    const url = await api('files.getUploadURLExternal', { filename: 'a.mp4', length: 4 });
    const uploadUrl = url.body.upload_url as string;
    expect(uploadUrl).toBe(`${s.url}/upload/${String(url.body.file_id)}`);
    const short = await fetch(uploadUrl, { method: 'POST', body: Buffer.from('abc') });
    expect(short.status).toBe(400);
    expect((await api('files.completeUploadExternal', { files: [{ id: url.body.file_id }], channel_id: 'C0GENERAL' })).body.error).toBe('file_not_found');
    const good = await fetch(uploadUrl, { method: 'POST', body: Buffer.from('abcd') });
    expect(await good.text()).toBe('OK - 4');
    expect((await api('files.completeUploadExternal', { files: [{ id: 'F0NOPE' }], channel_id: 'C0GENERAL' })).body.error).toBe('file_not_found');
    expect((await api('files.completeUploadExternal', { files: [{ id: url.body.file_id }], channel_id: 'C0NOPE' })).body.error).toBe('channel_not_found');
    const done = await api('files.completeUploadExternal', { files: [{ id: url.body.file_id, title: 'A' }] });
    expect(done.body).toMatchObject({ ok: true, files: [{ id: url.body.file_id, title: 'A', size: 4 }] });
    expect(s.messages).toHaveLength(0);
    expect((await api('files.info', { file: url.body.file_id })).body).toMatchObject({ ok: true, file: { name: 'a.mp4', mimetype: 'video/mp4' } });
  });

  it('deletes files the bot uploaded, with the message that shared them, and no user file', async () => {
    const url = await api('files.getUploadURLExternal', { filename: 'v.mp4', length: 4 });
    await fetch(url.body.upload_url as string, { method: 'POST', body: Buffer.from('abcd') });
    const thread = (await api('chat.postMessage', { channel: 'C0GENERAL', text: 'progress' })).body.ts as string;
    await api('files.completeUploadExternal', { files: [{ id: url.body.file_id }], channel_id: 'C0GENERAL', thread_ts: thread, initial_comment: 'here' });
    const shared = s.messages.find((m) => m.files.some((f) => f.id === url.body.file_id))!;
    const theirs = s.addUserFile({ name: 'photo.png', mimetype: 'image/png', data: Buffer.from('png') });
    expect((await api('files.delete', { file: theirs.id })).body.error).toBe('cant_delete_file');
    expect((await api('files.delete', { file: 'F0NOPE' })).body.error).toBe('file_not_found');
    expect((await api('files.delete', { file: url.body.file_id })).body).toMatchObject({ ok: true });
    expect(shared.deleted).toBe(true);
    expect(s.files.has(url.body.file_id as string)).toBe(false);
    expect((await api('files.info', { file: url.body.file_id })).body.error).toBe('file_not_found');
    expect((await api('files.delete', { file: url.body.file_id })).body.error).toBe('file_not_found');
    expect(s.messages.find((m) => m.ts === thread)?.deleted).toBe(false);
  });

  it('delays calls, consumes counted faults in order, and waitFor explains timeouts', async () => {
    s.addFault({ method: 'auth.test', delayMs: 150 });
    const t0 = Date.now();
    expect((await api('auth.test', {})).body.ok).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    s.addFault({ error: 'internal_error', times: 2 });
    expect((await api('auth.test', {})).body.error).toBe('internal_error');
    expect((await api('users.info', { user: 'U0BOB' })).body.error).toBe('internal_error');
    expect((await api('auth.test', {})).body.ok).toBe(true);
    s.addFault({ method: 'chat.postMessage', status: 503 });
    expect((await api('chat.postMessage', { channel: 'C0GENERAL', text: 'x' })).status).toBe(503);
    await expect(s.waitFor(() => false, 60)).rejects.toThrow(/timed out after 60 ms; recent calls:[\s\S]*chat\.postMessage → 503/);
  });
});
