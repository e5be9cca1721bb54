// Socket Mode: apps.connections.open (app-level token) and the WebSocket at /socket?ticket=… that speaks
// Slack's protocol to @slack/socket-mode 2.x: `hello` on connect, envelopes out, `{envelope_id, payload}` acks in,
// WebSocket ping frames both ways (the client pings every clientPingTimeout/3 and drops the link without pongs,
// which `ws` answers automatically; once pinged by the server it expects another ping within serverPingTimeout).
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { RawData, WebSocket } from 'ws';
import type { Handler } from './api-chat.js';
import * as payloads from './slack-payloads.js';
import type {
  AppHomeOpenedInput,
  BlockActionInput,
  EventCallbackOptions,
  MessageEventInput,
  PayloadContext,
  ShortcutMessage,
  SlashCommandInput,
  ViewBlockActionInput,
  ViewSubmissionInput,
} from './slack-payloads.js';
import type { SlackWorld } from './state.js';

export type EnvelopeType = 'events_api' | 'slash_commands' | 'interactive';

/** Methods that take the app-level (xapp-) token instead of the bot token. */
export const APP_TOKEN_METHODS = new Set(['apps.connections.open']);

export const socketMethods: Record<string, Handler> = {
  'apps.connections.open': (_args, world) => {
    const ticket = randomBytes(16).toString('hex');
    world.socketTickets.add(ticket);
    return { url: `${world.url.replace(/^http/, 'ws')}/socket?ticket=${ticket}&app_id=${world.appId}` };
  },
};

export interface SocketEnvelope {
  envelopeId: string;
  type: EnvelopeType;
  payload: Record<string, unknown>;
  acceptsResponsePayload: boolean;
  retryAttempt: number;
  retryReason: string;
  /** Which connection (1-based, in opening order) it went to. */
  connection: number;
  sentAt: number;
}

export interface SocketAck {
  envelopeId: string;
  /** The envelope's type; undefined when the id matched no envelope sent. */
  type?: EnvelopeType;
  /** The ack's `payload` ({} for a bare ack(); {response_action, errors} etc. for a view submission). */
  payload: unknown;
  /** The whole message as the client sent it. */
  raw: unknown;
  at: number;
  /** Milliseconds between sending the envelope and this ack. */
  latencyMs?: number;
}

export interface SocketSendOptions {
  /** Default: true for slash_commands and view_submission / block_suggestion payloads, else false (as Slack sends). */
  acceptsResponsePayload?: boolean;
  /** Default 0 / ''. */
  retryAttempt?: number;
  retryReason?: string;
  envelopeId?: string;
  /** Default: the stand-in's socketAckTimeoutMs (3000). */
  ackTimeoutMs?: number;
}

export interface SocketSendResult {
  envelopeId: string;
  /** The ack's payload. */
  ack: unknown;
  latencyMs: number;
}

export interface SocketModeStandin {
  /** The token apps.connections.open accepts. */
  readonly appToken: string;
  /** At least one connection is open (and was sent `hello`). */
  readonly connected: boolean;
  /** Connections open now. */
  readonly connections: number;
  /** Connections ever opened. */
  readonly connectionsOpened: number;
  /** Ping frames received from clients (each answered with a pong). */
  readonly pingsReceived: number;
  /** Pong frames received in answer to the server's pings. */
  readonly pongsReceived: number;
  /** Every envelope sent, in order. */
  envelopes: SocketEnvelope[];
  /** Every ack received, in order (duplicates included). */
  acks: SocketAck[];
  /** Client messages that were not acks (unparseable, no envelope_id). */
  unexpected: unknown[];
  /**
   * Sends an envelope on the newest open connection; resolves when the client acks it,
   * rejects when there is no connection or no ack within the timeout.
   */
  send(type: EnvelopeType, payload: Record<string, unknown>, opts?: SocketSendOptions): Promise<SocketSendResult>;
  /** An events_api envelope: `event` wrapped in an event_callback body. */
  event(event: Record<string, unknown>, opts?: EventCallbackOptions & SocketSendOptions): Promise<SocketSendResult>;
  /** A slash_commands envelope; response_url points at the stand-in's /hooks/response/…. */
  command(p: SlashCommandInput, opts?: SocketSendOptions): Promise<SocketSendResult>;
  /** An interactive envelope (shortcut, view_submission, block_actions…). */
  interactive(payload: Record<string, unknown>, opts?: SocketSendOptions): Promise<SocketSendResult>;
  globalShortcut(p: { callbackId: string; userId?: string }): Record<string, unknown>;
  messageShortcut(p: { callbackId: string; userId?: string; channelId?: string; message: ShortcutMessage }): Record<string, unknown>;
  viewSubmission(p: ViewSubmissionInput): Record<string, unknown>;
  blockAction(p: BlockActionInput): Record<string, unknown>;
  viewBlockAction(p: ViewBlockActionInput): Record<string, unknown>;
  appMention(p: MessageEventInput): Record<string, unknown>;
  message(p: MessageEventInput & { subtype?: string }): Record<string, unknown>;
  appHomeOpened(p?: AppHomeOpenedInput): Record<string, unknown>;
  /** Resolves once a connection is open (default timeout 5000 ms). */
  waitForConnection(timeoutMs?: number): Promise<void>;
  /** Sends `{type:'disconnect', reason}` on every open connection, as Slack does before rotating one; the client closes and reconnects. */
  disconnect(reason?: 'refresh_requested' | 'warning' | 'link_disabled'): void;
  /** Drops every connection without a close frame (a lost network). */
  dropConnections(): void;
}

interface Connection {
  n: number;
  ws: WebSocket;
  ping: NodeJS.Timeout;
}

interface Pending {
  envelope: SocketEnvelope;
  resolve: (r: SocketSendResult) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class SocketModeServer {
  readonly api: SocketModeStandin;
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private readonly open: Connection[] = [];
  private readonly pending = new Map<string, Pending>();
  private readonly waiters = new Set<() => void>();
  private opened = 0;
  private pings = 0;
  private pongs = 0;
  private closed = false;

  constructor(
    private readonly world: SlackWorld,
    private readonly opts: { pingIntervalMs: number; ackTimeoutMs: number },
  ) {
    const envelopes: SocketEnvelope[] = [];
    const acks: SocketAck[] = [];
    const unexpected: unknown[] = [];
    const ctx: PayloadContext = { teamId: world.teamId, teamDomain: 'standin', apiAppId: world.appId, botUserId: world.botUserId, responseUrlBase: world.url, now: Date.now };
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    const send = (type: EnvelopeType, payload: Record<string, unknown>, o: SocketSendOptions = {}) => self.send(envelopes, type, payload, o);
    this.api = {
      appToken: world.appToken,
      get connected() {
        return self.open.length > 0;
      },
      get connections() {
        return self.open.length;
      },
      get connectionsOpened() {
        return self.opened;
      },
      get pingsReceived() {
        return self.pings;
      },
      get pongsReceived() {
        return self.pongs;
      },
      envelopes,
      acks,
      unexpected,
      send,
      event: (event, o = {}) => send('events_api', payloads.eventCallback(ctx, event, o), o),
      command: (c, o) => send('slash_commands', payloads.slashCommand(ctx, c), o),
      interactive: (payload, o) => send('interactive', payload, o),
      globalShortcut: (s) => payloads.globalShortcut(ctx, s),
      messageShortcut: (s) => payloads.messageShortcut(ctx, s),
      viewSubmission: (s) => payloads.viewSubmission(ctx, s),
      blockAction: (s) => payloads.blockAction(ctx, s),
      viewBlockAction: (s) => payloads.viewBlockAction(ctx, s),
      appMention: (s) => payloads.appMention(ctx, s),
      message: (s) => payloads.messageEvent(ctx, s),
      appHomeOpened: (s = {}) => payloads.appHomeOpened(ctx, s),
      waitForConnection: (timeoutMs = 5000) => self.waitForConnection(timeoutMs),
      disconnect(reason = 'refresh_requested') {
        const msg = JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'standin' } });
        for (const c of self.open) c.ws.send(msg);
      },
      dropConnections() {
        for (const c of [...self.open]) c.ws.terminate();
      },
    };
  }

  /** The HTTP server's 'upgrade' listener: /socket?ticket=<one-use ticket from apps.connections.open>. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const ticket = url.searchParams.get('ticket') ?? '';
    const record = (status: number, response: unknown) =>
      this.world.calls.push({ method: 'SOCKET_CONNECT', path: url.pathname, args: { ticket }, status, response, at: Date.now() });
    const refuse = (status: number, text: string) => {
      record(status, text);
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${text.length}\r\n\r\n${text}`);
    };
    if (this.closed) return refuse(503, 'Service Unavailable');
    if (url.pathname !== '/socket') return refuse(404, 'Not Found');
    if (!this.world.socketTickets.delete(ticket)) return refuse(401, 'Unauthorized');
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      record(101, 'hello');
      this.accept(ws);
    });
  }

  private accept(ws: WebSocket): void {
    this.opened += 1;
    const conn: Connection = { n: this.opened, ws, ping: setInterval(() => ws.ping(), this.opts.pingIntervalMs).unref() };
    this.open.push(conn);
    ws.on('ping', () => void (this.pings += 1));
    ws.on('pong', () => void (this.pongs += 1));
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('error', () => undefined);
    ws.on('close', () => {
      clearInterval(conn.ping);
      const i = this.open.indexOf(conn);
      if (i >= 0) this.open.splice(i, 1);
    });
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.open.length,
        debug_info: { host: 'standin', build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: this.world.appId },
      }),
    );
    for (const w of [...this.waiters]) w();
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    const text = isBinary ? undefined : Buffer.isBuffer(data) ? data.toString() : Array.isArray(data) ? Buffer.concat(data).toString() : Buffer.from(data).toString();
    let msg: unknown;
    try {
      msg = text === undefined ? undefined : JSON.parse(text);
    } catch {
      msg = undefined;
    }
    const envelopeId = typeof msg === 'object' && msg !== null ? (msg as { envelope_id?: unknown }).envelope_id : undefined;
    if (typeof envelopeId !== 'string') {
      this.api.unexpected.push(msg ?? text ?? data);
      return;
    }
    const now = Date.now();
    const sent = this.api.envelopes.find((e) => e.envelopeId === envelopeId);
    const payload = (msg as { payload?: unknown }).payload;
    this.api.acks.push({ envelopeId, ...(sent ? { type: sent.type, latencyMs: now - sent.sentAt } : {}), payload, raw: msg, at: now });
    const p = this.pending.get(envelopeId);
    if (p === undefined) return;
    this.pending.delete(envelopeId);
    clearTimeout(p.timer);
    p.resolve({ envelopeId, ack: payload, latencyMs: now - p.envelope.sentAt });
  }

  private send(envelopes: SocketEnvelope[], type: EnvelopeType, payload: Record<string, unknown>, o: SocketSendOptions): Promise<SocketSendResult> {
    const conn = this.open.at(-1);
    if (conn === undefined) return Promise.reject(new Error(`slack stand-in: no Socket Mode connection to send a ${type} envelope on`));
    const accepts = o.acceptsResponsePayload ?? (type === 'slash_commands' || (type === 'interactive' && (payload.type === 'view_submission' || payload.type === 'block_suggestion')));
    const envelope: SocketEnvelope = {
      envelopeId: o.envelopeId ?? randomUUID(),
      type,
      payload,
      acceptsResponsePayload: accepts,
      retryAttempt: o.retryAttempt ?? 0,
      retryReason: o.retryReason ?? '',
      connection: conn.n,
      sentAt: Date.now(),
    };
    envelopes.push(envelope);
    const timeoutMs = o.ackTimeoutMs ?? this.opts.ackTimeoutMs;
    return new Promise<SocketSendResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(envelope.envelopeId);
        reject(new Error(`slack stand-in: no ack for ${type} envelope ${envelope.envelopeId} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(envelope.envelopeId, { envelope, resolve, reject, timer });
      conn.ws.send(
        JSON.stringify({
          envelope_id: envelope.envelopeId,
          type,
          payload,
          accepts_response_payload: accepts,
          retry_attempt: envelope.retryAttempt,
          retry_reason: envelope.retryReason,
        }),
        (err) => {
          if (err === undefined || err === null) return;
          clearTimeout(timer);
          this.pending.delete(envelope.envelopeId);
          reject(err);
        },
      );
    });
  }

  private waitForConnection(timeoutMs: number): Promise<void> {
    if (this.open.length > 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(done);
        reject(new Error(`slack stand-in: no Socket Mode connection within ${timeoutMs} ms (${this.opened} opened so far)`));
      }, timeoutMs);
      this.waiters.add(done);
    });
  }

  /** Terminates every connection (the client will try to reconnect) and fails pending sends. */
  close(): void {
    this.closed = true;
    for (const c of [...this.open]) {
      clearInterval(c.ping);
      c.ws.terminate();
    }
    this.open.length = 0;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error('slack stand-in closed'));
    }
    this.pending.clear();
    this.wss.close();
  }
}
