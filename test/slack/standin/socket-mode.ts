// Socket Mode: apps.connections.open (app-level token) and the WebSocket at /socket?ticket=… that speaks
// Slack's protocol to @slack/socket-mode 2.x: `hello` on connect, envelopes out, `{envelope_id, payload}` acks in,
// WebSocket ping frames both ways (the client pings every clientPingTimeout/3 and drops the link without pongs,
// which `ws` answers automatically; once pinged by the server it expects another ping within serverPingTimeout).
// Several connections may be open for one app (one per instance of it): as Slack does, each envelope goes to one of
// them (here in turn, or the one a test names), and an events_api envelope left unacked is delivered again
// (retry_attempt 1, 2, 3 with retry_reason 'timeout', the same payload and event_id, a new envelope_id), maybe on
// another connection. Slack retries at once, after 1 and after 5 minutes (SLACK_RETRY_DELAYS_MS); the stand-in
// retries only when asked (socketRetryDelaysMs, or retryDelaysMs per send). Slash commands and interactions are
// never retried.
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { RawData, WebSocket } from 'ws';
import type { Handler } from './api-chat.js';
import * as payloads from './slack-payloads.js';
import type { PayloadContext } from './slack-payloads.js';
import type { EnvelopeType, SocketAck, SocketEnvelope, SocketModeStandin, SocketSendOptions, SocketSendResult } from './socket-mode-types.js';
import type { SlackWorld } from './state.js';

export type * from './socket-mode-types.js';
export { SLACK_RETRY_DELAYS_MS } from './socket-mode-types.js';

/** Methods that take the app-level (xapp-) token instead of the bot token. */
export const APP_TOKEN_METHODS = new Set(['apps.connections.open']);

export const socketMethods: Record<string, Handler> = {
  'apps.connections.open': (_args, world) => {
    const ticket = randomBytes(16).toString('hex');
    world.socketTickets.add(ticket);
    return { url: `${world.url.replace(/^http/, 'ws')}/socket?ticket=${ticket}&app_id=${world.appId}` };
  },
};

interface Connection {
  n: number;
  ws: WebSocket;
  ping: NodeJS.Timeout;
}

/** One send: its deliveries so far, and how it ends. */
interface Sending {
  type: EnvelopeType;
  payload: Record<string, unknown>;
  opts: SocketSendOptions;
  accepts: boolean;
  timeoutMs: number;
  retryDelays: readonly number[];
  deliveries: SocketEnvelope[];
  /** Deliveries tried, including those that found no connection open. */
  attempts: number;
  resolve: (r: SocketSendResult) => void;
  reject: (e: Error) => void;
  /** The ack timeout of the delivery waiting now, or the delay before the next retry. */
  timer?: NodeJS.Timeout;
  done: boolean;
}

export class SocketModeServer {
  readonly api: SocketModeStandin;
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private readonly open: Connection[] = [];
  /** Sends by the envelope_id of their delivery waiting for its ack. */
  private readonly pending = new Map<string, Sending>();
  /** Every send not settled yet (some between deliveries). */
  private readonly sending = new Set<Sending>();
  private readonly waiters = new Set<() => void>();
  /** Round-robin position over the open connections. */
  private turn = 0;
  private opened = 0;
  private pings = 0;
  private pongs = 0;
  private closed = false;

  constructor(
    private readonly world: SlackWorld,
    private readonly opts: { pingIntervalMs: number; ackTimeoutMs: number; retryDelaysMs?: readonly number[] },
  ) {
    const envelopes: SocketEnvelope[] = [];
    const acks: SocketAck[] = [];
    const unexpected: unknown[] = [];
    const ctx: PayloadContext = { teamId: world.teamId, teamDomain: 'standin', apiAppId: world.appId, botUserId: world.botUserId, responseUrlBase: world.url, now: Date.now };
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    const send = (type: EnvelopeType, payload: Record<string, unknown>, o: SocketSendOptions = {}) => self.send(type, payload, o);
    this.api = {
      appToken: world.appToken,
      get connected() {
        return self.open.length > 0;
      },
      get connections() {
        return self.open.length;
      },
      get openConnections() {
        return self.open.map((c) => c.n);
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
      waitForConnection: (timeoutMs = 5000) => self.waitForConnections(1, timeoutMs),
      waitForConnections: (count, timeoutMs = 5000) => self.waitForConnections(count, timeoutMs),
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
    ws.on('message', (data, isBinary) => this.onMessage(conn.n, data, isBinary));
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

  private onMessage(connection: number, data: RawData, isBinary: boolean): void {
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
    const s = this.pending.get(envelopeId);
    const index = s?.deliveries.findIndex((d) => d.envelopeId === envelopeId) ?? -1;
    const delivery = s?.deliveries[index];
    const lost = s !== undefined && index < (s.opts.loseAcks ?? 0);
    // An ack for a delivery that is no longer waiting (it timed out, or its send was answered) is late, unless
    // it repeats an ack that counted.
    const late = sent !== undefined && s === undefined && !this.api.acks.some((a) => a.envelopeId === envelopeId && a.ignored === undefined);
    const ignored = lost ? 'lost' : late ? 'late' : undefined;
    this.api.acks.push({ envelopeId, ...(sent ? { type: sent.type, latencyMs: now - sent.sentAt } : {}), payload, raw: msg, at: now, connection, ...(ignored ? { ignored } : {}) });
    if (s === undefined || delivery === undefined || lost) return;
    this.settle(s);
    s.resolve({ envelopeId, ack: payload, latencyMs: now - delivery.sentAt, connection: delivery.connection, retryAttempt: delivery.retryAttempt, deliveries: [...s.deliveries] });
  }

  private send(type: EnvelopeType, payload: Record<string, unknown>, o: SocketSendOptions): Promise<SocketSendResult> {
    const accepts = o.acceptsResponsePayload ?? (type === 'slash_commands' || (type === 'interactive' && (payload.type === 'view_submission' || payload.type === 'block_suggestion')));
    const retryDelays = type === 'events_api' ? (o.retryDelaysMs ?? this.opts.retryDelaysMs ?? []) : [];
    return new Promise<SocketSendResult>((resolve, reject) => {
      const s: Sending = { type, payload, opts: o, accepts, timeoutMs: o.ackTimeoutMs ?? this.opts.ackTimeoutMs, retryDelays, deliveries: [], attempts: 0, resolve, reject, done: false };
      this.sending.add(s);
      this.deliver(s);
    });
  }

  /** The connection for the next delivery of `s`: the one named for it, else the next open one in turn. */
  private connectionFor(s: Sending): Connection | undefined | Error {
    const named = typeof s.opts.connection === 'number' ? [s.opts.connection] : (s.opts.connection ?? []);
    const n = named[s.attempts];
    if (n !== undefined) return this.open.find((c) => c.n === n) ?? new Error(`slack stand-in: Socket Mode connection ${n} is not open (open: ${this.open.map((c) => c.n).join(', ') || 'none'})`);
    if (this.open.length === 0) return undefined;
    const conn = this.open[this.turn % this.open.length];
    this.turn += 1;
    return conn;
  }

  /** One delivery of `s` (the first, or a retry). */
  private deliver(s: Sending): void {
    if (s.done) return;
    const conn = this.connectionFor(s);
    const attempt = s.attempts++;
    if (conn instanceof Error) return this.fail(s, conn);
    if (conn === undefined) {
      // Nobody to deliver to: as unacked, so Slack tries again later, while it has retries left.
      if (attempt < s.retryDelays.length) return this.retryLater(s, attempt);
      return this.fail(s, new Error(`slack stand-in: no Socket Mode connection to send a ${s.type} envelope on`));
    }
    const envelope: SocketEnvelope = {
      envelopeId: (attempt === 0 ? s.opts.envelopeId : undefined) ?? randomUUID(),
      type: s.type,
      payload: s.payload,
      acceptsResponsePayload: s.accepts,
      retryAttempt: (s.opts.retryAttempt ?? 0) + attempt,
      retryReason: attempt === 0 ? (s.opts.retryReason ?? '') : 'timeout',
      connection: conn.n,
      sentAt: Date.now(),
    };
    s.deliveries.push(envelope);
    this.api.envelopes.push(envelope);
    this.pending.set(envelope.envelopeId, s);
    s.timer = setTimeout(() => {
      this.pending.delete(envelope.envelopeId);
      if (attempt < s.retryDelays.length) return this.retryLater(s, attempt);
      const retried = attempt > 0 ? ` (nor for its ${attempt} ${attempt === 1 ? 'retry' : 'retries'})` : '';
      this.fail(s, new Error(`slack stand-in: no ack for ${s.type} envelope ${s.deliveries[0]!.envelopeId} within ${s.timeoutMs} ms${retried}`));
    }, s.timeoutMs);
    conn.ws.send(
      JSON.stringify({
        envelope_id: envelope.envelopeId,
        type: s.type,
        payload: s.payload,
        accepts_response_payload: s.accepts,
        retry_attempt: envelope.retryAttempt,
        retry_reason: envelope.retryReason,
      }),
      (err) => {
        if (err === undefined || err === null || s.done || !this.pending.has(envelope.envelopeId)) return;
        // The link broke under the send: unacked at once.
        clearTimeout(s.timer);
        this.pending.delete(envelope.envelopeId);
        if (attempt < s.retryDelays.length) this.retryLater(s, attempt);
        else this.fail(s, err);
      },
    );
  }

  /** Attempt `attempt` went unacked: the next one after its delay. */
  private retryLater(s: Sending, attempt: number): void {
    s.timer = setTimeout(() => this.deliver(s), s.retryDelays[attempt] ?? 0);
  }

  private settle(s: Sending): void {
    s.done = true;
    clearTimeout(s.timer);
    this.sending.delete(s);
    for (const d of s.deliveries) this.pending.delete(d.envelopeId);
  }

  private fail(s: Sending, err: Error): void {
    this.settle(s);
    s.reject(err);
  }

  private waitForConnections(count: number, timeoutMs: number): Promise<void> {
    if (this.open.length >= count) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        if (this.open.length < count) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`slack stand-in: fewer than ${count} Socket Mode connection(s) open within ${timeoutMs} ms (${this.open.length} open, ${this.opened} opened so far)`));
      }, timeoutMs);
      this.waiters.add(check);
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
    for (const s of [...this.sending]) this.fail(s, new Error('slack stand-in closed'));
    this.pending.clear();
    this.wss.close();
  }
}
