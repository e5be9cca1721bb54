// Local emulator of the AIML API and Segmind Seedance endpoints over real HTTP (node:http only).
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { aimlError, handleAimlapi, isAimlCreate, isAimlPoll } from './aimlapi-routes.js';
import { loadAimlSchemas } from './aimlapi-schemas.js';
import { handleControl } from './control.js';
import { FaultStore } from './faults.js';
import { BodyTooLargeError, flatHeaders, parseBody, readBody, sendJson } from './http-util.js';
import type { Exchange } from './http-util.js';
import { handleSegmind, isSegmindCreate, isSegmindPoll, segmindError } from './segmind-routes.js';
import { defaultSettings, makeSleeper, newSigningKey } from './state.js';
import type { EmulatorState } from './state.js';
import type {
  EmulatorOptions,
  Fault,
  ProviderEmulator,
  RecordedRequest,
  RecordedService,
  RequestFilter,
  RequestKind,
  Service,
} from './types.js';
import { xmlError } from './video-host.js';

export type {
  AppliedFault,
  ChaosFn,
  ChaosRequest,
  EmulatorCredits,
  EmulatorJob,
  EmulatorOptions,
  EmulatorSettings,
  Fault,
  FaultKind,
  FaultSource,
  ProviderEmulator,
  RecordedRequest,
  RecordedService,
  RenderJobInfo,
  RequestFilter,
  RequestKind,
  Service,
} from './types.js';

export const DEFAULT_AIMLAPI_KEY = 'test-aiml-key';
export const DEFAULT_SEGMIND_KEY = 'test-segmind-key';
export const FIXTURE_VIDEO_URL = new URL('../fixtures/tiny.mp4', import.meta.url);

const CDN_ERROR_CODES: Readonly<Record<number, string>> = { 403: 'AccessDenied', 404: 'NoSuchKey', 503: 'ServiceUnavailable' };

function classify(server: Service, pathname: string): RecordedService {
  if (server === 'aimlapi' && pathname.startsWith('/cdn/')) return 'cdn';
  if (server === 'segmind' && pathname.startsWith('/outputs/')) return 'cdn';
  return server;
}

function requestKind(server: Service, service: RecordedService, method: string, pathname: string): RequestKind {
  if (service === 'cdn') return 'download';
  if (server === 'aimlapi') {
    if (isAimlCreate(method, pathname)) return 'create';
    return isAimlPoll(method, pathname) ? 'poll' : 'other';
  }
  if (isSegmindCreate(method, pathname)) return 'create';
  return isSegmindPoll(method, pathname) ? 'poll' : 'other';
}

function matchesFilter(r: RecordedRequest, filter: RequestFilter): boolean {
  return (
    (filter.service === undefined || r.service === filter.service) &&
    (filter.method === undefined || r.method === filter.method.toUpperCase()) &&
    (filter.pathIncludes === undefined || r.path.includes(filter.pathIncludes)) &&
    (filter.kind === undefined || r.kind === filter.kind) &&
    (filter.faulted === undefined || (r.fault !== undefined) === filter.faulted) &&
    (filter.faultSource === undefined || r.fault?.source === filter.faultSource)
  );
}

function sendFaultStatus(ex: Exchange, service: RecordedService, fault: Fault): Promise<void> {
  const status = fault.status ?? 500;
  const headers: Record<string, string> = {};
  if (fault.retryAfterSeconds !== undefined) headers['retry-after'] = String(fault.retryAfterSeconds);
  if (fault.body !== undefined) {
    return sendJson(ex, status, fault.body, headers);
  }
  if (service === 'cdn') return xmlError(ex, status, CDN_ERROR_CODES[status] ?? 'InternalError', `Injected ${status}`, headers);
  if (service === 'aimlapi') return aimlError(ex, status, undefined, {}, headers);
  return segmindError(ex, status, undefined, headers);
}

function sendServerError(ex: Exchange, service: RecordedService, message: string): Promise<void> {
  if (service === 'cdn') return xmlError(ex, 500, 'InternalError', message);
  if (service === 'aimlapi') return aimlError(ex, 500, message);
  return segmindError(ex, 500, message);
}

async function dispatch(
  state: EmulatorState,
  server: Service,
  req: IncomingMessage,
  res: ServerResponse,
  reset: () => void,
): Promise<void> {
  const requestId = randomUUID();
  if (server === 'aimlapi') res.setHeader('x-request-id', requestId);
  let raw: Buffer;
  try {
    raw = await readBody(req);
  } catch (err) {
    if (err instanceof BodyTooLargeError && !res.headersSent) {
      res.writeHead(413, { 'content-type': 'application/json', connection: 'close' }).end('{"error":"Payload too large"}');
    } else {
      req.socket.destroy();
    }
    return;
  }
  const url = new URL(req.url ?? '/', 'http://emulator.invalid');
  const method = (req.method ?? 'GET').toUpperCase();
  const parsed = parseBody(raw, req.headers['content-type']);
  const service = classify(server, url.pathname);
  const kind = requestKind(server, service, method, url.pathname);
  const record: RecordedRequest = {
    service,
    method,
    path: url.pathname + url.search,
    query: Object.fromEntries(url.searchParams),
    headers: flatHeaders(req),
    body: parsed.body,
    at: state.opts.now(),
    status: 0,
    kind,
  };
  const ex: Exchange = { req, res, state, method, pathname: url.pathname, query: record.query, body: parsed.body, record, requestId };
  if (parsed.error !== undefined) ex.bodyError = parsed.error;
  if (url.pathname === '/__emulator' || url.pathname.startsWith('/__emulator/')) {
    await handleControl(ex, reset);
    return;
  }
  state.requests.push(record);
  try {
    const isPoll = server === 'aimlapi' && isAimlPoll(method, url.pathname);
    // Faults are applied before any handler runs: a 'status' or 'reset' fault on a create never creates a job.
    const fault = state.faults.next({
      service,
      method,
      path: record.path,
      pathname: url.pathname,
      kind,
      isAimlPoll: isPoll,
      body: parsed.body,
    });
    if (fault) record.fault = fault;
    switch (fault?.kind) {
      case 'reset':
        record.status = 0;
        if (fault.ms !== undefined && !(await state.sleep(fault.ms))) return;
        req.socket.destroy();
        return;
      case 'status':
        if (fault.ms !== undefined && !(await state.sleep(fault.ms))) return;
        await sendFaultStatus(ex, service, fault);
        return;
      case 'delay':
        if (!(await state.sleep(fault.ms ?? 0))) return;
        break;
      case 'slowBody':
        ex.slow = { ms: fault.ms ?? 0, ...(fault.chunkBytes !== undefined ? { chunkBytes: fault.chunkBytes } : {}) };
        break;
      case 'statusWord':
        if (fault.word !== undefined) ex.statusWord = fault.word;
        break;
      default:
        break;
    }
    await (server === 'aimlapi' ? handleAimlapi(ex) : handleSegmind(ex));
  } catch (err) {
    console.error('[provider-emulator] handler failed:', err);
    if (!res.headersSent) await sendServerError(ex, service, 'Emulator internal error');
    else res.destroy();
  }
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function baseUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export async function startProviderEmulator(opts: EmulatorOptions = {}): Promise<ProviderEmulator> {
  const host = opts.host ?? '127.0.0.1';
  const sleeper = makeSleeper();
  const state: EmulatorState = {
    opts: {
      aimlapiKeys: opts.aimlapiKeys ?? [DEFAULT_AIMLAPI_KEY],
      segmindKeys: opts.segmindKeys ?? [DEFAULT_SEGMIND_KEY],
      renderMs: opts.renderMs ?? (() => 50),
      queuedFraction: Math.min(1, Math.max(0, opts.queuedFraction ?? 0.2)),
      videoBytes: opts.videoBytes ?? (await readFile(FIXTURE_VIDEO_URL)),
      videoUrlTtlMs: opts.videoUrlTtlMs ?? 24 * 60 * 60 * 1000,
      segmindResultTtlMs: opts.segmindResultTtlMs ?? 60 * 60 * 1000,
      now: opts.now ?? Date.now,
      aimlapiSchemas: loadAimlSchemas(opts.aimlapiSpecsDir),
    },
    aimlapiUrl: '',
    segmindUrl: '',
    jobs: new Map(),
    requests: [],
    credits: { aimlapi: Infinity, segmind: Infinity },
    settings: defaultSettings(),
    faults: new FaultStore(),
    signingKey: newSigningKey(),
    sleep: sleeper.sleep,
  };

  const reset = (): void => {
    state.jobs.clear();
    state.requests.length = 0;
    state.faults.clear();
    state.faults.chaos = undefined;
    Object.assign(state.settings, defaultSettings());
    Object.assign(state.credits, { aimlapi: Infinity, segmind: Infinity });
  };
  const makeServer = (service: Service): Server =>
    createServer((req, res) => {
      void dispatch(state, service, req, res, reset);
    });
  const aimlServer = makeServer('aimlapi');
  const segmindServer = makeServer('segmind');
  try {
    state.aimlapiUrl = baseUrl(host, await listen(aimlServer, opts.aimlapiPort ?? 0, host));
    state.segmindUrl = baseUrl(host, await listen(segmindServer, opts.segmindPort ?? 0, host));
  } catch (err) {
    await Promise.all([closeServer(aimlServer), closeServer(segmindServer)]);
    throw err;
  }

  return {
    aimlapiUrl: state.aimlapiUrl,
    segmindUrl: state.segmindUrl,
    get jobs() {
      return state.jobs;
    },
    get requests() {
      return state.requests;
    },
    get credits() {
      return state.credits;
    },
    set credits(value) {
      Object.assign(state.credits, value);
    },
    get settings() {
      return state.settings;
    },
    set settings(value) {
      Object.assign(state.settings, value);
    },
    addFault: (f) => state.faults.add(f),
    clearFaults: () => state.faults.clear(),
    setChaos: (fn) => {
      state.faults.chaos = fn;
    },
    count: (filter) => state.requests.filter((r) => matchesFilter(r, filter)).length,
    bodies: (filter = {}) => state.requests.filter((r) => matchesFilter(r, filter)).map((r) => r.body),
    reset,
    async close() {
      sleeper.cancelAll();
      await Promise.all([closeServer(aimlServer), closeServer(segmindServer)]);
    },
  };
}
