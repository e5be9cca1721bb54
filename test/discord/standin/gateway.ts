// Gateway v10 over `ws`: HELLO, heartbeats, IDENTIFY -> READY + GUILD_CREATE, RESUME with replay, dispatches routed by shard.
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
/** Close codes after which a session can't be resumed (nor, by discord.js, the shard reconnected). */
const FINAL_CLOSE_CODES = new Set([4004, 4010, 4011, 4012, 4013, 4014]);

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
  /** [id, count] from IDENTIFY; [0, 1] (every event) when it sent none. */
  shard: Shard;
  log: Frame[];
  ws?: WebSocket;
}

/** Builds an event's `d` for one session (by its intents), or undefined to skip that session. */
export type EventBuilder = (intents: number) => unknown;

/** A session's `[shard_id, num_shards]`. */
export type Shard = [number, number];

/** The shard a server's events go to, like Discord: `(guild_id >> 22) % count`. Events without a server go to shard 0. */
export function shardOf(guildId: string | undefined, count: number): number {
  return guildId === undefined ? 0 : Number((BigInt(guildId) >> 22n) % BigInt(count));
}

/** The server an event belongs to: `id` for the GUILD_CREATE/UPDATE/DELETE family, else `guild_id`. */
function guildOfEvent(t: string, d: unknown): string | undefined {
  if (typeof d !== 'object' || d === null) return undefined;
  const v = /^GUILD_(CREATE|UPDATE|DELETE)$/.test(t) ? (d as { id?: unknown }).id : (d as { guild_id?: unknown }).guild_id;
  return typeof v === 'string' ? v : undefined;
}

/** IDENTIFY's `shard`: absent is [0, 1]; anything but two whole numbers with 0 <= id < count is invalid (null). */
function parseShard(v: unknown): Shard | null {
  if (v === undefined || v === null) return [0, 1];
  if (!Array.isArray(v) || v.length !== 2) return null;
  const [id, count] = v as unknown[];
  if (!Number.isInteger(id) || !Number.isInteger(count)) return null;
  return (count as number) >= 1 && (id as number) >= 0 && (id as number) < (count as number) ? [id as number, count as number] : null;
}

export interface GatewayOptions {
  heartbeatIntervalMs: number;
  privilegedIntentsEnabled: boolean;
  url: () => string;
  /** More of the bot's servers than this on one shard: IDENTIFY is closed with 4011 Sharding required (Discord: 2500). */
  maxGuildsPerShard: number;
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

  /** Each session's shard and whether its socket is open, in IDENTIFY order. */
  get shards(): { shard: Shard; connected: boolean }[] {
    return [...this.sessions.values()].map((s) => ({ shard: [...s.shard] as Shard, connected: s.ws !== undefined }));
  }

  /** Throws unless a live or resumable session gets the events of `guildId` (undefined: DMs, shard 0). */
  requireSessionFor(guildId: string | undefined): void {
    if (!this.hasSession) throw new Error('Discord stand-in: no bot is connected to the gateway (await waitForReady() first)');
    if ([...this.sessions.values()].some((s) => onShard(s, guildId))) return;
    const where = guildId === undefined ? 'DMs (shard 0)' : `guild ${guildId}`;
    const held = [...this.sessions.values()].map((s) => `[${s.shard.join(', ')}]`).join(' ');
    throw new Error(`Discord stand-in: no bot session gets the events of ${where}; sessions hold shards ${held}`);
  }

  /**
   * Sends op 0 `t` to every live session of the shard the event's server is on (DMs: shard 0); the builder may tailor
   * or skip per intents. Returns how many got it.
   */
  dispatch(t: string, build: EventBuilder | Record<string, unknown>): number {
    let sent = 0;
    for (const session of this.sessions.values()) {
      const d = typeof build === 'function' ? build(session.intents) : build;
      if (d === undefined || !onShard(session, guildOfEvent(t, d))) continue;
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

  /**
   * Closes the open sockets of the sessions on shard `shard` (all when undefined) with `code`, as Discord does. A
   * code the client may not resume after (4004, 4010-4014) also ends the session. Returns how many were closed.
   */
  closeSessions(code: number, shard?: number): number {
    let closed = 0;
    for (const session of [...this.sessions.values()]) {
      if (shard !== undefined && session.shard[0] !== shard) continue;
      if (FINAL_CLOSE_CODES.has(code)) this.sessions.delete(session.id);
      if (!session.ws) continue;
      session.ws.close(code, 'Closed by the stand-in.');
      closed += 1;
    }
    return closed;
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
    const shard = parseShard(d.shard);
    if (shard === null) return void ws.close(4010, 'Invalid shard.');
    const guilds = [...this.state.guilds.values()].filter((g) => g.botMember && shardOf(g.id, shard[1]) === shard[0]);
    if (guilds.length > this.opts.maxGuildsPerShard) return void ws.close(4011, 'Sharding required.');
    if (this.readyToWithhold > 0) {
      this.readyToWithhold -= 1;
      this.readyWithheld += 1;
      return;
    }
    const session: Session = { id: this.state.snowflake(), seq: 0, intents, shard, log: [], ws };
    this.sessions.set(session.id, session);
    conn.session = session;
    const bot = this.state.user(this.state.botUserId);
    this.sendDispatch(session, 'READY', {
      v: 10,
      user: { ...apiUser(bot), bot: true, verified: true, mfa_enabled: false, email: null },
      guilds: guilds.map((g) => ({ id: g.id, unavailable: true })),
      session_id: session.id,
      session_type: 'normal',
      resume_gateway_url: this.opts.url(),
      application: { id: this.state.applicationId, flags: 0 },
      shard,
      private_channels: [],
      presences: [],
      relationships: [],
      guild_join_requests: [],
      geo_ordered_rtc_regions: [],
      user_settings: {},
      _trace: ['["discord-standin",{"micros":0}]'],
    });
    for (const guild of guilds) this.sendDispatch(session, 'GUILD_CREATE', guildCreatePayload(this.state, guild));
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

const onShard = (s: Session, guildId: string | undefined): boolean => shardOf(guildId, s.shard[1]) === s.shard[0];

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
