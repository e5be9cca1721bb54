// HTTP plumbing: /api/<method> (auth, scopes, faults and chaos, recording), /upload/<id>, /files-pri/…, /hooks/response/….
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { SlackApiError } from './api-error.js';
import type { Handler } from './api-chat.js';
import { chatMethods } from './api-chat.js';
import { filesMethods, handleFileGet, handleUpload } from './api-files.js';
import type { RawReply } from './api-files.js';
import { miscMethods } from './api-misc.js';
import type { FaultStore } from './faults.js';
import { parseArgs, readBody } from './http-body.js';
import { handleResponseUrl } from './response-url.js';
import { APP_TOKEN_METHODS, socketMethods } from './socket-mode.js';
import type { SlackWorld } from './state.js';
import type { RecordedCall } from './types.js';

const METHODS: Record<string, Handler> = { ...chatMethods, ...miscMethods, ...filesMethods, ...socketMethods };

/** Any one of these scopes lets a method through; methods not listed need none. */
const REQUIRED_SCOPES: Record<string, string[]> = {
  'chat.postMessage': ['chat:write'],
  'chat.update': ['chat:write'],
  'chat.postEphemeral': ['chat:write'],
  'chat.delete': ['chat:write'],
  'files.getUploadURLExternal': ['files:write'],
  'files.completeUploadExternal': ['files:write'],
  'files.delete': ['files:write'],
  'files.info': ['files:read'],
  'users.info': ['users:read'],
  'conversations.info': ['channels:read', 'groups:read', 'im:read', 'mpim:read'],
  'conversations.open': ['im:write', 'mpim:write', 'channels:manage', 'groups:write'],
  'conversations.replies': ['channels:history', 'groups:history', 'im:history', 'mpim:history'],
};

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: Buffer | string;
  recorded: unknown;
}

/** withFault result: destroy the connection without answering. */
const RESET = Symbol('reset');

/** Waits ms; false when the stand-in closed meanwhile. */
async function pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    await sleep(ms, undefined, signal === undefined ? undefined : { signal });
    return true;
  } catch {
    return false;
  }
}

interface FaultContext {
  faults: FaultStore;
  /** Aborted when the stand-in closes: cuts fault delays short. */
  closing: AbortSignal | undefined;
  call: RecordedCall;
  httpMethod: string;
}

export function createStandinServer(world: SlackWorld, faults: FaultStore, closing?: AbortSignal): Server {
  return createServer((req, res) => {
    handle(world, faults, closing, req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`stand-in error: ${(err as Error).message}`);
    });
  });
}

function jsonReply(world: SlackWorld, status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): Reply {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'x-oauth-scopes': [...world.scopes].join(','), ...headers },
    body: JSON.stringify(body),
    recorded: body,
  };
}

function fromRaw(r: RawReply): Reply {
  const recorded = typeof r.body === 'string' ? r.body : `<${r.body.length} bytes ${r.headers['content-type'] ?? ''}>`;
  return { ...r, recorded };
}

async function handle(world: SlackWorld, faults: FaultStore, closing: AbortSignal | undefined, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const httpMethod = (req.method ?? 'GET').toUpperCase();
  const path = url.pathname;
  const auth = req.headers.authorization;
  const contentType = req.headers['content-type'];
  const raw = await readBody(req);
  const call: RecordedCall = { method: '', path, ...(auth !== undefined ? { auth } : {}), args: {}, status: 0, response: undefined, at: Date.now() };

  const fx: FaultContext = { faults, closing, call, httpMethod };
  let reply: Reply | typeof RESET;
  if (path.startsWith('/api/')) {
    call.method = path.slice('/api/'.length);
    reply = await withFault(fx, world, () => apiCall(world, call, httpMethod, raw, contentType, url.searchParams));
  } else if (httpMethod === 'POST' && path.startsWith('/upload/')) {
    call.method = 'UPLOAD';
    reply = await withFault(fx, world, async () => {
      const r = await handleUpload(world, decodeURIComponent(path.slice('/upload/'.length)), raw, contentType);
      call.args = r.args;
      return fromRaw(r.reply);
    });
  } else if ((httpMethod === 'GET' || httpMethod === 'HEAD') && path.startsWith('/files-pri/')) {
    call.method = 'FILE_GET';
    reply = await withFault(fx, world, () => {
      const r = handleFileGet(world, decodeURIComponent(path), auth);
      call.args = r.args;
      return Promise.resolve(fromRaw(r.reply));
    });
  } else if (httpMethod === 'POST' && path.startsWith('/hooks/response/')) {
    call.method = 'RESPONSE_URL';
    reply = await withFault(fx, world, () => {
      const r = handleResponseUrl(world, path, raw);
      call.args = r.args;
      return Promise.resolve(jsonReply(world, r.status, r.body));
    });
  } else {
    call.method = `${httpMethod} ${path}`;
    reply = { status: 404, headers: { 'content-type': 'text/plain' }, body: 'Not Found', recorded: 'Not Found' };
  }

  if (reply === RESET) {
    world.calls.push(call);
    req.socket.destroy();
    return;
  }
  call.status = reply.status;
  call.response = reply.recorded;
  world.calls.push(call);
  res.writeHead(reply.status, reply.headers);
  res.end(httpMethod === 'HEAD' ? undefined : reply.body);
}

async function withFault(fx: FaultContext, world: SlackWorld, run: () => Promise<Reply>): Promise<Reply | typeof RESET> {
  const { call } = fx;
  const fault = fx.faults.next({ method: call.method, httpMethod: fx.httpMethod, path: call.path });
  if (fault !== undefined) call.fault = fault.fault;
  if (fault !== undefined && fault.delayMs > 0 && !(await pause(fault.delayMs, fx.closing))) return RESET;
  if (fault?.reset === true) return RESET;
  if (fault?.reply !== undefined) return jsonReply(world, fault.reply.status, fault.reply.body, fault.reply.headers);
  return run();
}

async function apiCall(world: SlackWorld, call: RecordedCall, httpMethod: string, raw: Buffer, contentType: string | undefined, query: URLSearchParams): Promise<Reply> {
  if (httpMethod !== 'POST' && httpMethod !== 'GET') return jsonReply(world, 405, { ok: false, error: 'method_not_allowed' });
  const parsed = await parseArgs(raw, contentType, query);
  call.args = parsed.args;
  if (parsed.invalid !== undefined) return jsonReply(world, 200, { ok: false, error: parsed.invalid });
  const handler = METHODS[call.method];
  if (handler === undefined) return jsonReply(world, 200, { ok: false, error: 'unknown_method', req_method: call.method });

  const bearer = /^Bearer (.+)$/i.exec(call.auth ?? '')?.[1];
  const token = bearer ?? parsed.tokenField;
  if (token === undefined || token === '') return jsonReply(world, 200, { ok: false, error: 'not_authed' });
  // Socket Mode's apps.connections.open takes only the app-level token (xapp-); every other method only the bot token.
  const wantsAppToken = APP_TOKEN_METHODS.has(call.method);
  if (token === (wantsAppToken ? world.botToken : world.appToken)) return jsonReply(world, 200, { ok: false, error: 'not_allowed_token_type' });
  if (token !== (wantsAppToken ? world.appToken : world.botToken)) return jsonReply(world, 200, { ok: false, error: 'invalid_auth' });

  const needed = REQUIRED_SCOPES[call.method];
  if (needed !== undefined && !needed.some((s) => world.scopes.has(s))) {
    return jsonReply(world, 200, { ok: false, error: 'missing_scope', needed: needed.join(','), provided: [...world.scopes].join(',') });
  }
  try {
    const result = await handler(parsed.args, world);
    return jsonReply(world, 200, { ok: true, ...result }, needed === undefined ? {} : { 'x-accepted-oauth-scopes': needed.join(',') });
  } catch (err) {
    if (err instanceof SlackApiError) return jsonReply(world, 200, err.body);
    throw err;
  }
}
