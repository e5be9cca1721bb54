// A local stand-in for the Slack Web API (plus upload URLs and files-pri downloads) that an unmodified
// @slack/bolt App runs against: `clientOptions: { slackApiUrl: `${standin.url}/api/`, retryConfig: { retries: 0 } }`.
// Socket Mode too: `appToken: standin.appToken, socketMode: true, installerOptions: { clientOptions: { slackApiUrl } }`
// makes the app call apps.connections.open here and connect to the stand-in's WebSocket; tests then deliver
// events, commands and interactions with `standin.socket.event(…)` / `.command(…)` / `.interactive(…)`.
import type { AddressInfo } from 'node:net';
import { FaultStore } from './faults.js';
import { createStandinServer } from './server.js';
import { SocketModeServer } from './socket-mode.js';
import type { SocketModeStandin } from './socket-mode.js';
import { SlackWorld, mimeFor } from './state.js';
import type { ChaosFn, FaultSpec, PublishedHomeView, RecordedCall, SlackFileObject, SlackMessage, SlackStandinOptions, StandinFile, ViewRecord } from './types.js';

export type * from './types.js';
export type * from './socket-mode.js';
export { DEFAULT_SCOPES } from './state.js';
export { SLACK_RETRY_DELAYS_MS } from './socket-mode.js';

export interface SlackStandin {
  /** http://127.0.0.1:PORT (no trailing slash); the Web API lives under `${url}/api/`. */
  url: string;
  botToken: string;
  /** App-level token (xapp-) that apps.connections.open accepts. */
  appToken: string;
  appId: string;
  teamId: string;
  botUserId: string;
  botId: string;
  /** Every request, in completion order (Web API methods, 'UPLOAD', 'FILE_GET', 'RESPONSE_URL'). */
  calls: RecordedCall[];
  /** Every message (bot posts, ephemerals, uploads' messages, addUserMessage), in order. */
  messages: SlackMessage[];
  /** views.open / views.push calls that succeeded. */
  views: ViewRecord[];
  /** views.publish calls that succeeded, in order (every user's). */
  homeViews: PublishedHomeView[];
  /** The Home tab last published for a user, if any. */
  homeView(userId: string): PublishedHomeView | undefined;
  /** The text of every section, header and context block of a user's Home tab (mrkdwn as sent), one per line; '' when none. */
  homeText(userId: string): string;
  /** Turns the app's Home tab on or off (views.publish answers not_enabled while off). */
  setHomeTabEnabled(enabled: boolean): void;
  /** The id of the bot's DM (IM) channel with a user (D…), opened if needed: where their Messages tab and app_home_opened point. */
  dmChannel(userId: string): string;
  /** Files the bot uploaded (files.uploadV2), by id. */
  files: Map<string, StandinFile>;
  /** Files made with addUserFile, by id. */
  userFiles: Map<string, StandinFile>;
  /** Granted scopes (mutable; also reported in `x-oauth-scopes`). */
  scopes: Set<string>;
  /** A user's file at `${url}/files-pri/<team>-<id>/<name>`, downloadable with `Authorization: Bearer <botToken>`. */
  addUserFile(p: { name: string; mimetype: string; data: Buffer; width?: number; height?: number; user?: string; title?: string }): SlackFileObject;
  /** Stores a message a user wrote (so chat.update on it fails with cant_update_message, shortcuts can point at it). */
  addUserMessage(p: { channel: string; user: string; text: string; threadTs?: string; files?: SlackFileObject[] }): SlackMessage;
  /** false: private file downloads answer 200 text/html sign-in page (as Slack does without files:read). */
  setFilesReadScope(granted: boolean): void;
  /** The next `times` matching calls fail, are delayed, or have their connection dropped (reset: true). */
  addFault(f: FaultSpec): void;
  /**
   * Sets (or with undefined removes) the chaos function, asked about every request no queued fault matched (Web API
   * methods, 'UPLOAD', 'FILE_GET', 'RESPONSE_URL'); the fault it returns applies to that request only.
   * An invalid fault (or a throw) answers that request 500.
   */
  setChaos(fn: ChaosFn | undefined): void;
  /** Later chat.update / chat.delete on it → message_not_found. */
  deleteMessage(channel: string, ts: string): void;
  /** Later posts → is_archived. */
  archiveChannel(id: string): void;
  /** Socket Mode: connections, envelopes sent to the app and its acks. */
  socket: SocketModeStandin;
  /** Resolves once a Socket Mode connection (or `count` of them at once) is open (default timeout 5000 ms). */
  waitForSocket(timeoutMs?: number, count?: number): Promise<void>;
  /** Polls fn every 20 ms until it returns a truthy value (default timeout 3000 ms). */
  waitFor<T>(fn: () => T | undefined | false, timeoutMs?: number): Promise<T>;
  /** Visible (non-ephemeral, non-deleted) messages of a channel, optionally of one thread (parent included). */
  visibleMessages(channel: string, threadTs?: string): SlackMessage[];
  close(): Promise<void>;
}

function describeCalls(calls: RecordedCall[]): string {
  const recent = calls.slice(-12).map((c) => {
    const resp = c.response as { ok?: boolean; error?: string } | undefined;
    const outcome = typeof resp === 'object' && resp !== null ? (resp.ok === true ? 'ok' : `error=${String(resp.error)}`) : String(resp).slice(0, 40);
    return `  ${c.method} → ${c.status} ${outcome}`;
  });
  return recent.length === 0 ? '  (no calls)' : recent.join('\n');
}

/** The visible text of a block (section text and fields, header, context elements). */
function blockText(block: unknown): string[] {
  const b = block as { text?: { text?: unknown }; fields?: { text?: unknown }[]; elements?: { text?: unknown }[] };
  const texts = [b.text?.text, ...(b.fields ?? []).map((f) => f.text), ...(b.elements ?? []).map((e) => (typeof e.text === 'string' ? e.text : undefined))];
  return texts.filter((t): t is string => typeof t === 'string');
}

export async function startSlackStandin(opts: SlackStandinOptions = {}): Promise<SlackStandin> {
  const world = new SlackWorld(opts);
  const faults = new FaultStore();
  const closing = new AbortController();
  const server = createStandinServer(world, faults, closing.signal);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  world.url = `http://127.0.0.1:${port}`;
  const socketMode = new SocketModeServer(world, { pingIntervalMs: opts.socketPingIntervalMs ?? 10_000, ackTimeoutMs: opts.socketAckTimeoutMs ?? 3000, ...(opts.socketRetryDelaysMs ? { retryDelaysMs: opts.socketRetryDelaysMs } : {}) });
  server.on('upgrade', (req, socket, head) => socketMode.handleUpgrade(req, socket, head));
  let closed = false;

  return {
    url: world.url,
    botToken: world.botToken,
    appToken: world.appToken,
    appId: world.appId,
    teamId: world.teamId,
    botUserId: world.botUserId,
    botId: world.botId,
    calls: world.calls,
    messages: world.messages,
    views: world.views,
    homeViews: world.homeViews,
    homeView: (userId) => world.homeViews.filter((v) => v.userId === userId).at(-1),
    homeText(userId) {
      const view = world.homeViews.filter((v) => v.userId === userId).at(-1)?.view;
      return (view?.blocks ?? []).flatMap(blockText).join('\n');
    },
    setHomeTabEnabled(enabled) {
      world.homeTabEnabled = enabled;
    },
    dmChannel: (userId) => world.imWith(userId).id,
    files: world.files,
    userFiles: world.userFiles,
    scopes: world.scopes,
    socket: socketMode.api,
    waitForSocket: (timeoutMs, count = 1) => socketMode.api.waitForConnections(count, timeoutMs),

    addUserFile(p) {
      const f: StandinFile = {
        id: world.newId('F'),
        name: p.name,
        title: p.title ?? p.name,
        size: p.data.length,
        mimetype: p.mimetype || mimeFor(p.name),
        data: p.data,
        channels: [],
        uploadedVia: 'user',
        user: p.user ?? 'U0ALICE',
        width: p.width,
        height: p.height,
        created: Math.floor(Date.now() / 1000),
      };
      world.userFiles.set(f.id, f);
      return world.fileObject(f);
    },

    addUserMessage(p) {
      world.channel(p.channel);
      const files = (p.files ?? []).map((fo) => {
        const stored = world.file(fo.id);
        if (stored !== undefined && !stored.channels.includes(p.channel)) stored.channels.push(p.channel);
        return { id: fo.id, name: fo.name, title: fo.title, size: fo.size, mimetype: fo.mimetype, data: stored?.data };
      });
      return world.addMessage({ channel: p.channel, user: p.user, text: p.text, threadTs: p.threadTs, files });
    },

    setFilesReadScope(granted) {
      if (granted) world.scopes.add('files:read');
      else world.scopes.delete('files:read');
    },

    addFault: (f) => faults.add(f),
    setChaos: (fn) => {
      faults.chaos = fn;
    },

    deleteMessage(channel, ts) {
      const msg = world.findMessage(channel, ts);
      if (msg === undefined) throw new Error(`deleteMessage: no message ${channel}/${ts}`);
      msg.deleted = true;
    },

    archiveChannel(id) {
      const c = world.channels.get(id);
      if (c === undefined) throw new Error(`archiveChannel: unknown channel ${id}`);
      c.archived = true;
    },

    async waitFor<T>(fn: () => T | undefined | false, timeoutMs = 3000): Promise<T> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const v = fn();
        if (v !== undefined && v !== false && v !== null) return v;
        if (Date.now() >= deadline) {
          throw new Error(`slack stand-in: waitFor timed out after ${timeoutMs} ms; recent calls:\n${describeCalls(world.calls)}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    },

    visibleMessages(channel, threadTs) {
      return world.messages.filter(
        (m) => m.channel === channel && !m.deleted && m.ephemeralTo === undefined && (threadTs === undefined || m.ts === threadTs || m.threadTs === threadTs),
      );
    },

    async close() {
      if (closed) return;
      closed = true;
      closing.abort();
      socketMode.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
