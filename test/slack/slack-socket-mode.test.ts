/**
 * Slack end to end in Socket Mode: the real bot process (SLACK_APP_TOKEN, no
 * signing secret) opens its connection with apps.connections.open on the Slack
 * stand-in and gets envelopes over the stand-in's WebSocket; the provider
 * emulator renders. Everything on loopback.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALLBACKS } from '../../src/surfaces/slack/slack-refs.js';
import { startProviderEmulator } from '../emulator/provider-emulator.js';
import type { ProviderEmulator } from '../emulator/provider-emulator.js';
import { baseBotEnv, botProcess } from '../helpers/bot-process.js';
import type { BotProcess } from '../helpers/bot-process.js';
import { startSlackStandin } from './standin/slack-standin.js';
import type { SlackMessage, SlackStandin } from './standin/slack-standin.js';

const PNG = readFileSync(new URL('../fixtures/red-320.png', import.meta.url));
const GENERAL = 'C0GENERAL';
const ALICE = 'U0ALICE';

let emulator: ProviderEmulator;
let slack: SlackStandin;
let bot: BotProcess;
let dataDir: string;

beforeAll(async () => {
  emulator = await startProviderEmulator({ renderMs: () => 400 });
  slack = await startSlackStandin();
  dataDir = mkdtempSync(join(tmpdir(), 'seedance-slack-socket-'));
  bot = botProcess();
  await bot.start({
    ...baseBotEnv(emulator, dataDir),
    SLACK_BOT_TOKEN: slack.botToken,
    SLACK_APP_TOKEN: slack.appToken,
    SLACK_API_URL: `${slack.url}/api/`,
    SLACK_FILE_HOSTS: '127.0.0.1',
    SLACK_PROGRESS_INTERVAL_MS: '200',
  });
  await slack.waitForSocket(10_000);
}, 60_000);

afterAll(async () => {
  await bot?.stop('SIGKILL');
  await slack?.close();
  await emulator?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const calls = (method: string) => slack.calls.filter((c) => c.method === method);
const createBodies = () => emulator.requests.filter((r) => r.method === 'POST' && r.path.includes('/v2/video/generations')).map((r) => r.body as Record<string, unknown>);
const botPosts = (channel: string): SlackMessage[] => slack.messages.filter((m) => m.channel === channel && m.user === slack.botUserId && !m.ephemeralTo);
const videoIn = (channel: string, thread: string) => slack.messages.find((m) => m.channel === channel && m.threadTs === thread && m.files.some((f) => f.name.endsWith('.mp4')));

describe('Slack over Socket Mode', () => {
  it('connects with the app-level token over the WebSocket and listens on no HTTP port', () => {
    const open = calls('apps.connections.open');
    expect(open).toHaveLength(1);
    expect(open[0]!.auth).toBe(`Bearer ${slack.appToken}`);
    expect(open[0]!.response).toMatchObject({ ok: true });
    expect(calls('SOCKET_CONNECT').map((c) => c.status)).toEqual([101]);
    expect(slack.socket).toMatchObject({ connected: true, connections: 1 });
    // The bot itself still uses the bot token for the Web API.
    expect(calls('auth.test').at(-1)!.auth).toBe(`Bearer ${slack.botToken}`);
    const line = bot
      .output()
      .split('\n')
      .find((l) => l.includes('connected to Slack'));
    expect(line).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({ mode: 'socket', team: slack.teamId });
    expect(line).not.toContain('"port"');
  });

  it('acks a /video slash_commands envelope and uploads the video into the thread of its progress message', async () => {
    const before = createBodies().length;
    const sent = await slack.socket.command({ command: CALLBACKS.command, text: 'a fox in snow --seed 9', userId: ALICE, channelId: GENERAL });
    expect(sent.ack).toEqual({});
    expect(slack.socket.acks.find((a) => a.envelopeId === sent.envelopeId)).toMatchObject({ type: 'slash_commands' });
    const progress = await slack.waitFor(() => botPosts(GENERAL).find((m) => !m.threadTs && m.history[0]!.text.includes('a fox in snow')), 5000);
    const video = await slack.waitFor(() => videoIn(GENERAL, progress.ts), 15_000);
    expect(video.text).toContain('seed `9`');
    expect(calls('files.completeUploadExternal').at(-1)!.args).toMatchObject({ channel_id: GENERAL, thread_ts: progress.ts });
    const creates = createBodies().slice(before);
    expect(creates).toHaveLength(1);
    expect(creates[0]).toMatchObject({ prompt: 'a fox in snow', seed: 9 });
  });

  it('animates the image attached to an app_mention from an events_api envelope', async () => {
    const before = createBodies().length;
    const file = slack.addUserFile({ name: 'photo.png', mimetype: 'image/png', data: PNG, width: 320, height: 320 });
    const ts = `${Math.floor(Date.now() / 1000)}.000700`;
    const sent = await slack.socket.event(slack.socket.appMention({ text: `<@${slack.botUserId}> the snow starts to fall`, userId: ALICE, channelId: GENERAL, ts, files: [file] }));
    expect(sent.ack).toEqual({});
    await slack.waitFor(() => videoIn(GENERAL, ts), 15_000);
    const creates = createBodies().slice(before);
    expect(creates).toHaveLength(1);
    expect(creates[0]).toMatchObject({ prompt: 'the snow starts to fall' });
    expect(String(creates[0]!.image_url)).toMatch(/^data:image\/png;base64,/);
    expect(String(creates[0]!.image_url)).toBe(`data:image/png;base64,${PNG.toString('base64')}`);
  });

  it('opens the modal with the trigger_id of a global shortcut from an interactive envelope', async () => {
    const shortcut = slack.socket.globalShortcut({ callbackId: CALLBACKS.globalShortcut, userId: ALICE });
    const sent = await slack.socket.interactive(shortcut);
    expect(sent.ack).toEqual({});
    const view = await slack.waitFor(() => slack.views.find((v) => v.triggerId === shortcut.trigger_id));
    expect(JSON.stringify((view.view as { blocks: unknown[] }).blocks)).toContain('"block_id":"prompt"');
    expect(calls('views.open').at(-1)!.auth).toBe(`Bearer ${slack.botToken}`);
  });

  it('reconnects when Slack asks it to refresh the connection, and keeps answering', async () => {
    slack.socket.disconnect('refresh_requested');
    // @slack/socket-mode closes, waits clientPingTimeout (5 s) and opens a new connection with a fresh ticket.
    await slack.waitFor(() => slack.socket.connectionsOpened === 2 && slack.socket.connected, 12_000);
    expect(calls('apps.connections.open')).toHaveLength(2);
    expect(slack.socket.connections).toBe(1);
    const replies = () => calls('RESPONSE_URL').length;
    const n = replies();
    const sent = await slack.socket.command({ command: CALLBACKS.command, text: 'x --duration 7', userId: ALICE, channelId: GENERAL });
    expect(sent.ack).toEqual({});
    expect(slack.socket.envelopes.at(-1)!.connection).toBe(2);
    const reply = await slack.waitFor(() => replies() > n && calls('RESPONSE_URL').at(-1));
    expect(JSON.stringify(reply.args)).toContain('lite makes 5 or 10 s clips');
  });
});
