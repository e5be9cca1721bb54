// The stand-in's Socket Mode: apps.connections.open, the WebSocket protocol (raw `ws` client) and an unmodified
// Bolt App over @slack/socket-mode (hello, envelopes, acks with payloads, pings both ways, reconnects).
import { App, SocketModeReceiver } from '@slack/bolt';
import type { SlashCommand } from '@slack/bolt';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { capturingLogger } from './bolt-harness.js';
import { startSlackStandin } from './slack-standin.js';
import type { SlackStandin, SlackStandinOptions } from './slack-standin.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function standin(opts: SlackStandinOptions = {}): Promise<SlackStandin> {
  const s = await startSlackStandin(opts);
  cleanups.push(() => s.close());
  return s;
}

async function api(s: SlackStandin, method: string, token: string | null): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${s.url}/api/${method}`, { method: 'POST', headers, body: '' });
  return (await res.json()) as Record<string, unknown>;
}

/** A raw WebSocket client; resolves with it and the messages it has received so far (kept up to date). */
async function rawClient(url: string): Promise<{ ws: WebSocket; messages: Record<string, unknown>[] }> {
  const ws = new WebSocket(url);
  const messages: Record<string, unknown>[] = [];
  ws.on('message', (d: Buffer) => messages.push(JSON.parse(d.toString()) as Record<string, unknown>));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  cleanups.push(async () => void ws.terminate());
  return { ws, messages };
}

function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('open', () => {
      ws.terminate();
      reject(new Error('the upgrade was accepted'));
    });
    ws.on('error', () => undefined);
  });
}

async function socketApp(s: SlackStandin, clientPingTimeout = 5000): Promise<{ app: App; logs: string[]; errors: unknown[] }> {
  const logs: string[] = [];
  const errors: unknown[] = [];
  const logger = capturingLogger(logs);
  const slackApiUrl = `${s.url}/api/`;
  const receiver = new SocketModeReceiver({ appToken: s.appToken, logger, clientPingTimeout, installerOptions: { clientOptions: { slackApiUrl, retryConfig: { retries: 0 } } } });
  const app = new App({ token: s.botToken, receiver, logger, clientOptions: { slackApiUrl, retryConfig: { retries: 0 } } });
  app.error(async (e) => void errors.push(e));
  cleanups.push(async () => {
    await app.stop().catch(() => undefined);
  });
  return { app, logs, errors };
}

describe('apps.connections.open and the WebSocket endpoint', () => {
  it('takes only the app-level token, and bot methods refuse it', async () => {
    const s = await standin();
    expect(s.appToken).toBe('xapp-test-token');
    expect(await api(s, 'apps.connections.open', null)).toEqual({ ok: false, error: 'not_authed' });
    expect(await api(s, 'apps.connections.open', s.botToken)).toEqual({ ok: false, error: 'not_allowed_token_type' });
    expect(await api(s, 'apps.connections.open', 'xapp-wrong')).toEqual({ ok: false, error: 'invalid_auth' });
    expect(await api(s, 'auth.test', s.appToken)).toEqual({ ok: false, error: 'not_allowed_token_type' });
    const ok = await api(s, 'apps.connections.open', s.appToken);
    expect(ok.ok).toBe(true);
    expect(String(ok.url)).toMatch(new RegExp(`^ws://127\\.0\\.0\\.1:${new URL(s.url).port}/socket\\?ticket=[0-9a-f]{32}&app_id=A0STANDIN$`));
    const custom = await standin({ appToken: 'xapp-1-custom' });
    expect((await api(custom, 'apps.connections.open', 'xapp-1-custom')).ok).toBe(true);
  });

  it('greets with hello, delivers envelopes, records acks and times out unacked ones; tickets are single-use', async () => {
    const s = await standin({ socketAckTimeoutMs: 300 });
    const url = String((await api(s, 'apps.connections.open', s.appToken)).url);
    expect(s.socket.connected).toBe(false);
    await expect(s.socket.send('events_api', {})).rejects.toThrow('no Socket Mode connection');
    const { ws, messages } = await rawClient(url);
    await s.waitForSocket(1000);
    await s.waitFor(() => messages.length > 0);
    expect(messages[0]).toEqual({
      type: 'hello',
      num_connections: 1,
      debug_info: { host: 'standin', build_number: 1, approximate_connection_time: 18060 },
      connection_info: { app_id: 'A0STANDIN' },
    });
    expect(s.socket).toMatchObject({ connected: true, connections: 1, connectionsOpened: 1 });
    expect(s.calls.find((c) => c.method === 'SOCKET_CONNECT')).toMatchObject({ status: 101, path: '/socket' });

    ws.on('message', (d: Buffer) => {
      const m = JSON.parse(d.toString()) as { envelope_id?: string; type: string };
      if (m.type === 'slash_commands') ws.send(JSON.stringify({ envelope_id: m.envelope_id, payload: { text: 'ok!' } }));
    });
    const sent = await s.socket.command({ command: '/video', text: 'a cat', userId: 'U0BOB' });
    expect(sent.ack).toEqual({ text: 'ok!' });
    const envelope = messages.find((m) => m.type === 'slash_commands')!;
    expect(envelope).toMatchObject({ envelope_id: sent.envelopeId, accepts_response_payload: true, retry_attempt: 0, retry_reason: '' });
    expect(envelope.payload).toMatchObject({ command: '/video', text: 'a cat', user_id: 'U0BOB', team_id: s.teamId, api_app_id: 'A0STANDIN' });
    expect(String((envelope.payload as { response_url: string }).response_url)).toMatch(new RegExp(`^${s.url}/hooks/response/`));
    expect(s.socket.acks).toEqual([expect.objectContaining({ envelopeId: sent.envelopeId, type: 'slash_commands', payload: { text: 'ok!' } })]);

    await expect(s.socket.event(s.socket.appMention({ text: 'hi' }))).rejects.toThrow(/no ack for events_api envelope .* within 300 ms/);
    expect(messages.find((m) => m.type === 'events_api')).toMatchObject({ accepts_response_payload: false, payload: { type: 'event_callback', event: { type: 'app_mention', text: 'hi' } } });
    ws.send('not json');
    await s.waitFor(() => s.socket.unexpected.length === 1);

    expect(await upgradeStatus(url)).toBe(401); // used already
    expect(await upgradeStatus(`${url.split('?')[0]}?ticket=nope`)).toBe(401);
    expect(await upgradeStatus(url.replace('/socket', '/other'))).toBe(404);
    ws.close();
    await s.waitFor(() => !s.socket.connected);
  });
});

describe('an unmodified Bolt App in Socket Mode', () => {
  it('connects with the app token, gets commands, events and interactions, and its acks carry response payloads', async () => {
    const s = await standin();
    const { app, errors } = await socketApp(s);
    const commands: SlashCommand[] = [];
    const mentions: { text: string; retryNum?: number }[] = [];
    app.command('/video', async ({ ack, command }) => {
      commands.push(command);
      await ack();
    });
    app.event('app_mention', async ({ event, body }) => {
      mentions.push({ text: event.text, retryNum: (body as { retry_num?: number }).retry_num });
    });
    app.view('video_modal', async ({ ack }) => {
      await ack({ response_action: 'errors', errors: { prompt: 'too short' } });
    });
    app.shortcut('make_video', async ({ ack, shortcut, client }) => {
      await ack();
      await client.views.open({ trigger_id: shortcut.trigger_id, view: { type: 'modal', title: { type: 'plain_text', text: 'Video' }, blocks: [] } });
    });
    await app.start();
    expect(s.socket.connected).toBe(true);
    const open = s.calls.filter((c) => c.method === 'apps.connections.open');
    expect(open).toHaveLength(1);
    expect(open[0]!.auth).toBe(`Bearer ${s.appToken}`);

    const cmd = await s.socket.command({ command: '/video', text: 'a fox', userId: 'U0ALICE' });
    expect(cmd.ack).toEqual({});
    expect(commands[0]).toMatchObject({ command: '/video', text: 'a fox', user_id: 'U0ALICE', channel_id: 'C0GENERAL' });

    await s.socket.event(s.socket.appMention({ text: '<@U0BOT0001> hi' }));
    await s.waitFor(() => mentions.length === 1);
    expect(mentions[0]!.text).toBe('<@U0BOT0001> hi');

    const submit = await s.socket.interactive(s.socket.viewSubmission({ callbackId: 'video_modal', values: {} }));
    expect(submit.ack).toEqual({ response_action: 'errors', errors: { prompt: 'too short' } });
    expect(s.socket.envelopes.at(-1)).toMatchObject({ type: 'interactive', acceptsResponsePayload: true });

    const shortcut = s.socket.globalShortcut({ callbackId: 'make_video' });
    await s.socket.interactive(shortcut);
    expect(s.socket.envelopes.at(-1)!.acceptsResponsePayload).toBe(false);
    await s.waitFor(() => s.views.find((v) => v.triggerId === shortcut.trigger_id));
    expect(errors).toEqual([]);
  });

  it('keeps the connection alive with pings both ways and reconnects after a disconnect message', async () => {
    const s = await standin({ socketPingIntervalMs: 100 });
    const { app, errors } = await socketApp(s, 300); // the client pings every 100 ms, wants a pong within 300 ms
    await app.start();
    await new Promise((r) => setTimeout(r, 1200));
    expect(s.socket).toMatchObject({ connected: true, connectionsOpened: 1 });
    expect(s.socket.pingsReceived).toBeGreaterThanOrEqual(5);
    expect(s.socket.pongsReceived).toBeGreaterThanOrEqual(5);

    s.socket.disconnect();
    await s.waitFor(() => s.socket.connectionsOpened === 2 && s.socket.connected);
    expect(s.calls.filter((c) => c.method === 'apps.connections.open')).toHaveLength(2);
    app.command('/video', async ({ ack }) => ack());
    expect((await s.socket.command({ command: '/video', text: 'after the reconnect' })).ack).toEqual({});
    expect(s.socket.envelopes.at(-1)!.connection).toBe(2);
    expect(errors).toEqual([]);
  });
});
