// Gateway v10 over `ws`: HELLO, heartbeats, IDENTIFY -> READY + GUILD_CREATE, RESUME with replay, dispatches.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { RawData, WebSocket } from 'ws';
import { apiUser, guildCreatePayload } from './payloads.js';
import type { StandinState } from './state.js';

export const INTENT = {
  guilds: 1 << 0,
  guildMembers: 1 << 1,
  guildPresences: 1 << 8,
  guildMessages: 1 << 9,
  directMessages: 1 << 12,
  messageContent: 1 << 15,
} as const;
const PRIVILEGED = INTENT.guildMembers | INTENT.guildPresences | INTENT.messageContent;
const LOG_LIMIT = 1000;

interface Frame {
  op: number;
  d: unknown;
  s: number | null;
  t: string | null;
}

interface Session {
  id: string;
  seq: number;
  intents: number;
  log: Frame[];
  ws?: WebSocket;
}

/** Builds an event's `d` for one session (by its intents), or undefined to skip that session. */
export type EventBuilder = (intents: number) => unknown;

export interface GatewayOptions {
  heartbeatIntervalMs: number;
  privilegedIntentsEnabled: boolean;
  url: () => string;
}

export class Gateway {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly sessions = new Map<string, Session>();
  private readonly sockets = new Set<WebSocket>();
  private readyWaiters: (() => void)[] = [];
  /** Count of completed IDENTIFY handshakes (READY + GUILD_CREATEs sent). */
  readyCount = 0;
  /** How many of the next valid IDENTIFYs get no READY (see withholdReady). */
  private readyToWithhold = 0;
  /** Count of valid IDENTIFYs that got no READY. */
  readyWithheld = 0;
  /** Every op the bot sent, for tests ({op, d}; tokens elided). */
  readonly received: { op: number; d: unknown; at: number }[] = [];

  constructor(
    private readonly state: StandinState,
    private readonly opts: GatewayOptions,
  ) {}

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, req));
  }

  /** True while an identified (or resumed) session has an open socket. */
  get connected(): boolean {
    return [...this.sessions.values()].some((s) => s.ws !== undefined);
  }

  /** True while some session is live or resumable (events are then logged for replay). */
  get hasSession(): boolean {
    return this.sessions.size > 0;
  }

  /** Sends op 0 `t` to every live session; the builder may tailor or skip per intents. Returns how many got it. */
  dispatch(t: string, build: EventBuilder | Record<string, unknown>): number {
    let sent = 0;
    for (const session of this.sessions.values()) {
      const d = typeof build === 'function' ? build(session.intents) : build;
      if (d === undefined) continue;
      this.sendDispatch(session, t, d);
      if (session.ws) sent += 1;
    }
    return sent;
  }

  waitForReady(timeoutMs: number): Promise<void> {
    if (this.readyCount > 0 && this.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.readyWaiters = this.readyWaiters.filter((w) => w !== done);
        const ops = this.received.map((r) => r.op).join(',') || 'none';
        reject(new Error(`Discord stand-in: no bot became ready within ${timeoutMs} ms (ops received: ${ops})`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.readyWaiters.push(done);
    });
  }

  /**
   * The next `times` valid IDENTIFYs get no READY (nor GUILD_CREATE): the socket stays open and heartbeats are acked,
   * but no session starts, like a gateway that never finishes the handshake. 0 stops withholding.
   */
  withholdReady(times: number): void {
    if (!(Number.isInteger(times) || times === Infinity) || times < 0) throw new TypeError('withholdReady: times must be an integer >= 0 (or Infinity)');
    this.readyToWithhold = times;
  }

  /** Asks every connected bot to reconnect (op 7); it should then RESUME. */
  requestReconnect(): void {
    for (const ws of this.sockets) send(ws, { op: 7, d: null, s: null, t: null });
  }

  async close(): Promise<void> {
    const closing = [...this.sockets].map((ws) => new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        ws.terminate();
        resolve();
      }, 200);
      ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      ws.close(1001, 'stand-in closing');
    }));
    await Promise.all(closing);
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private onConnection(ws: WebSocket, req: IncomingMessage): void {
    this.sockets.add(ws);
    const params = new URL(req.url ?? '/', 'http://x').searchParams;
    const conn: { session?: Session } = {};
    ws.on('close', (code: number) => {
      this.sockets.delete(ws);
      const session = conn.session;
      if (session?.ws !== ws) return;
      session.ws = undefined;
      // Like Discord: a 1000/1001 close from the client ends the session; other codes leave it resumable.
      if (code === 1000 || code === 1001) this.sessions.delete(session.id);
    });
    ws.on('error', () => ws.terminate());
    if ((params.get('v') ?? '10') !== '10') return void ws.close(4012, 'Invalid API version.');
    if ((params.get('encoding') ?? 'json') !== 'json') return void ws.close(4002, 'Error while decoding payload.');
    send(ws, { op: 10, d: { heartbeat_interval: this.opts.heartbeatIntervalMs }, s: null, t: null });
    ws.on('message', (data: RawData, isBinary: boolean) => this.onMessage(ws, conn, data, isBinary));
  }

  private onMessage(ws: WebSocket, conn: { session?: Session }, data: RawData, isBinary: boolean): void {
    let frame: { op?: unknown; d?: unknown };
    try {
      if (isBinary) throw new Error('binary');
      frame = JSON.parse(rawText(data)) as { op?: unknown; d?: unknown };
    } catch {
      return void ws.close(4002, 'Error while decoding payload.');
    }
    const d = frame.d as Record<string, unknown> | null | undefined;
    this.received.push({ op: Number(frame.op), d: redactToken(d), at: Date.now() });
    switch (frame.op) {
      case 1:
        return send(ws, { op: 11, d: null, s: null, t: null });
      case 2:
        return this.identify(ws, conn, d);
      case 6:
        return this.resume(ws, conn, d);
      case 3:
      case 4:
      case 8:
        if (!conn.session) return void ws.close(4003, 'Not authenticated.');
        return;
      default:
        return void ws.close(4001, 'Unknown opcode.');
    }
  }

  private identify(ws: WebSocket, conn: { session?: Session }, d: Record<string, unknown> | null | undefined): void {
    if (conn.session) return void ws.close(4005, 'Already authenticated.');
    if (d?.token !== this.state.token) return void ws.close(4004, 'Authentication failed.');
    const intents = d.intents;
    if (typeof intents !== 'number' || !Number.isInteger(intents) || intents < 0) return void ws.close(4013, 'Invalid intent(s).');
    if (!this.opts.privilegedIntentsEnabled && (intents & PRIVILEGED) !== 0) return void ws.close(4014, 'Disallowed intent(s).');
    if (this.readyToWithhold > 0) {
      this.readyToWithhold -= 1;
      this.readyWithheld += 1;
      return;
    }
    const session: Session = { id: this.state.snowflake(), seq: 0, intents, log: [], ws };
    this.sessions.set(session.id, session);
    conn.session = session;
    const bot = this.state.user(this.state.botUserId);
    this.sendDispatch(session, 'READY', {
      v: 10,
      user: { ...apiUser(bot), bot: true, verified: true, mfa_enabled: false, email: null },
      guilds: [...this.state.guilds.values()].filter((g) => g.botMember).map((g) => ({ id: g.id, unavailable: true })),
      session_id: session.id,
      session_type: 'normal',
      resume_gateway_url: this.opts.url(),
      application: { id: this.state.applicationId, flags: 0 },
      shard: [0, 1],
      private_channels: [],
      presences: [],
      relationships: [],
      guild_join_requests: [],
      geo_ordered_rtc_regions: [],
      user_settings: {},
      _trace: ['["discord-standin",{"micros":0}]'],
    });
    for (const guild of this.state.guilds.values()) if (guild.botMember) this.sendDispatch(session, 'GUILD_CREATE', guildCreatePayload(this.state, guild));
    this.readyCount += 1;
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const w of waiters) w();
  }

  private resume(ws: WebSocket, conn: { session?: Session }, d: Record<string, unknown> | null | undefined): void {
    const session = typeof d?.session_id === 'string' ? this.sessions.get(d.session_id) : undefined;
    if (!session || d?.token !== this.state.token || conn.session) {
      return send(ws, { op: 9, d: false, s: null, t: null });
    }
    if (session.ws && session.ws !== ws) session.ws.close(4009, 'Session timed out.');
    session.ws = ws;
    conn.session = session;
    const since = typeof d.seq === 'number' ? d.seq : 0;
    for (const frame of session.log) if ((frame.s ?? 0) > since) send(ws, frame);
    this.sendDispatch(session, 'RESUMED', {});
  }

  private sendDispatch(session: Session, t: string, d: unknown): void {
    session.seq += 1;
    const frame: Frame = { op: 0, d, s: session.seq, t };
    session.log.push(frame);
    if (session.log.length > LOG_LIMIT) session.log.shift();
    if (session.ws) send(session.ws, frame);
  }
}

function send(ws: WebSocket, frame: Frame): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(frame));
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function redactToken(d: Record<string, unknown> | null | undefined): unknown {
  return d && typeof d === 'object' && 'token' in d ? { ...d, token: '<redacted>' } : d;
}
