// HTTP plumbing: /api/v10 REST (auth, faults and chaos, recording, rate-limit headers) and the /gateway upgrade.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiFailure, fail } from './errors.js';
import type { FaultStore } from './faults.js';
import type { World } from './message-ops.js';
import { parseRequestBody } from './multipart.js';
import type { ParsedBody } from './multipart.js';
import { matchRoute } from './router.js';
import type { RestReply, Route } from './router.js';
import type { RecordedCall } from './types.js';

const API_PREFIX = '/api/v10';
const MAX_BODY_BYTES = 128 * 1024 * 1024;

export interface ServerDeps extends World {
  routes: Route[];
  faults: FaultStore;
  /** Aborted when the stand-in closes: cuts fault delays short. */
  closing?: AbortSignal;
  /** The current signal that ends fault delays early (the calls then go on); see `endDelays()` on the stand-in. */
  hurry?: () => AbortSignal;
}

/** route() result: destroy the connection without answering. */
const RESET = Symbol('reset');

/** Waits ms, or until `hurry` is aborted; false when the stand-in closed meanwhile. */
async function pause(ms: number, closing: AbortSignal | undefined, hurry: AbortSignal | undefined): Promise<boolean> {
  const signals = [closing, hurry].filter((x): x is AbortSignal => x !== undefined);
  try {
    await sleep(ms, undefined, signals.length > 0 ? { signal: AbortSignal.any(signals) } : undefined);
    return true;
  } catch {
    return closing?.aborted !== true;
  }
}

export function createStandinServer(deps: ServerDeps): Server {
  const server = createServer((req, res) => {
    handle(deps, req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 0, message: `500: Internal Server Error (${(err as Error).message})` }));
    });
  });
  server.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/gateway' || path === '/gateway/') deps.gateway.handleUpgrade(req, socket, head);
    else socket.destroy();
  });
  return server;
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function decodePath(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

async function handle(deps: ServerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const method = (req.method ?? 'GET').toUpperCase();
  const inApi = url.pathname === API_PREFIX || url.pathname.startsWith(`${API_PREFIX}/`);
  const path = decodePath(inApi ? url.pathname.slice(API_PREFIX.length) || '/' : url.pathname);
  const call: RecordedCall = {
    method,
    path,
    query: Object.fromEntries(url.searchParams),
    ...(req.headers.authorization !== undefined ? { auth: req.headers.authorization } : {}),
    body: undefined,
    status: 0,
    at: Date.now(),
  };
  const raw = await readBody(req);
  let reply: RestReply | typeof RESET;
  let parsed: ParsedBody = { json: undefined, files: [], recorded: undefined };
  try {
    if (raw === undefined) throw fail.tooLarge();
    parsed = await parseRequestBody(raw, req.headers['content-type']);
    call.body = parsed.recorded;
    reply = await route(deps, { method, path, inApi, call, parsed, fullPath: url.pathname });
  } catch (err) {
    reply = errorReply(err);
  }
  if (reply === RESET) {
    deps.state.calls.push(call);
    req.socket.destroy();
    return;
  }
  call.status = reply.status;
  deps.state.calls.push(call);
  const headers: Record<string, string> = { ...rateLimitHeaders(method, path), ...reply.headers };
  if (reply.status === 204 || reply.body === undefined) {
    res.writeHead(reply.status, headers).end();
    return;
  }
  const text = JSON.stringify(reply.body);
  res.writeHead(reply.status, { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) }).end(text);
}

interface RouteInput {
  method: string;
  path: string;
  fullPath: string;
  inApi: boolean;
  call: RecordedCall;
  parsed: ParsedBody;
}

async function route(deps: ServerDeps, input: RouteInput): Promise<RestReply | typeof RESET> {
  const { method, path, call, parsed } = input;
  const match = input.inApi ? matchRoute(deps.routes, method, path) : undefined;
  const fault = deps.faults.next({
    method,
    path: input.inApi ? path : input.fullPath,
    query: call.query,
    ...(typeof match === 'object' ? { route: match.route.pattern } : {}),
    body: parsed.json,
  });
  if (fault) call.fault = fault.fault;
  if (fault && fault.delayMs > 0 && !(await pause(fault.delayMs, deps.closing, deps.hurry?.()))) return RESET;
  if (fault?.reset === true) return RESET;
  if (fault?.response) return { status: fault.response.status, body: fault.response.body, headers: fault.response.headers };
  if (!input.inApi) throw fail.notFound();
  if (match === undefined) throw fail.notFound();
  if (match === 'method-not-allowed') throw fail.methodNotAllowed();
  if (match.route.auth && call.auth !== `Bot ${deps.state.token}`) throw fail.unauthorized();
  // The bot token reaches only channels and servers the bot is in (interaction webhooks go anywhere).
  if (match.route.auth) {
    if (match.params.channelId !== undefined) deps.state.botAccess(match.params.channelId);
    const guildId = match.params.guildId;
    if (guildId !== undefined && deps.state.guilds.get(guildId)?.botMember === false) throw fail.missingAccess();
  }
  const json = parsed.json;
  return match.route.handler({
    state: deps.state,
    gateway: deps.gateway,
    method,
    path,
    params: match.params,
    query: call.query,
    auth: call.auth,
    body: typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : {},
    json,
    files: parsed.files,
  });
}

function errorReply(err: unknown): RestReply {
  if (err instanceof ApiFailure) return { status: err.status, body: err.body };
  const message = err instanceof Error ? err.message : String(err);
  return { status: 500, body: { code: 0, message: '500: Internal Server Error' }, headers: { 'x-standin-error': encodeURIComponent(message).slice(0, 500) } };
}

/** Generous per-route bucket headers so @discordjs/rest never waits. */
function rateLimitHeaders(method: string, path: string): Record<string, string> {
  const route = path.replace(/\d{15,21}/g, ':id').replace(/\/(interactions|webhooks)\/:id\/[^/]+/, '/$1/:id/:token');
  const bucket = createHash('sha1').update(`${method} ${route}`).digest('hex').slice(0, 16);
  return {
    'x-ratelimit-bucket': bucket,
    'x-ratelimit-limit': '50',
    'x-ratelimit-remaining': '49',
    'x-ratelimit-reset': ((Date.now() + 1000) / 1000).toFixed(3),
    'x-ratelimit-reset-after': '1.000',
  };
}
