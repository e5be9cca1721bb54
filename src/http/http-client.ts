/**
 * Thin undici wrapper shared by the providers: one dispatcher (keep-alive, or the
 * proxy from HTTP(S)_PROXY), timeouts, and network errors classified by whether
 * the request can have reached the server.
 */
import type { Dispatcher } from 'undici';
import { Agent, EnvHttpProxyAgent, request } from 'undici';

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON when the body is JSON, otherwise the text (truncated). */
  body: unknown;
  contentType: string;
}

export class NetworkError extends Error {
  /** True when the connection was never made, so the server cannot have acted on the request. */
  readonly notSent: boolean;
  readonly errorCode: string;
  constructor(message: string, errorCode: string, notSent: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NetworkError';
    this.errorCode = errorCode;
    this.notSent = notSent;
  }
}

const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

export function toNetworkError(err: unknown): NetworkError {
  const e = err as { code?: unknown; name?: unknown; cause?: { code?: unknown }; message?: string };
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  // An aborted request rejects with a DOMException whose `code` is a number (20, 23): use its name.
  const code = str(e?.code) ?? str(e?.cause?.code) ?? (e instanceof DOMException ? str(e.name) : undefined) ?? 'UNKNOWN';
  return new NetworkError(`${code}: ${e?.message ?? String(err)}`, code, NOT_SENT_CODES.has(code), { cause: err });
}

/** The dispatcher every outbound call uses: honours HTTP_PROXY/HTTPS_PROXY/NO_PROXY when set. */
export function createDispatcher(env: Record<string, string | undefined> = process.env, connections = 64): Dispatcher {
  const proxied = ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy'].some((k) => env[k]);
  const opts = { connections, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 120_000 };
  return proxied ? new EnvHttpProxyAgent(opts) : new Agent(opts);
}

/**
 * Resolves once a file stream has closed its descriptor. A stream destroyed before it
 * finished opening creates its file afterwards: delete a partial file only after this.
 */
export function closed(stream: NodeJS.WritableStream & { closed?: boolean; once(event: 'close', fn: () => void): unknown }): Promise<void> {
  return stream.closed ? Promise.resolve() : new Promise((resolve) => stream.once('close', () => resolve()));
}

export function header(headers: HttpResponse['headers'], name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Parses Retry-After (seconds or HTTP date) into ms, capped at 60 s. */
export function retryAfterMs(headers: HttpResponse['headers'], now = Date.now()): number | undefined {
  const v = header(headers, 'retry-after');
  if (!v) return undefined;
  const secs = Number(v);
  const ms = Number.isFinite(secs) ? secs * 1000 : Date.parse(v) - now;
  return Number.isFinite(ms) ? Math.min(60_000, Math.max(0, ms)) : undefined;
}

const MAX_ERROR_TEXT = 4000;

export async function callJson(
  dispatcher: Dispatcher,
  url: string,
  init: { method: 'GET' | 'POST'; headers: Record<string, string>; json?: unknown; timeoutMs: number; signal?: AbortSignal },
): Promise<HttpResponse> {
  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, {
      dispatcher,
      method: init.method,
      headers: { accept: 'application/json', ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
      body: init.json !== undefined ? JSON.stringify(init.json) : undefined,
      headersTimeout: init.timeoutMs,
      bodyTimeout: init.timeoutMs,
      signal: init.signal,
    });
  } catch (err) {
    throw toNetworkError(err);
  }
  const contentType = String(res.headers['content-type'] ?? '');
  let text: string;
  try {
    text = await res.body.text();
  } catch (err) {
    throw toNetworkError(err);
  }
  let body: unknown = text.length > MAX_ERROR_TEXT && res.statusCode >= 400 ? text.slice(0, MAX_ERROR_TEXT) : text;
  if (contentType.includes('json') || /^\s*[[{]/.test(text)) {
    try {
      body = JSON.parse(text);
    } catch {
      // keep the text
    }
  }
  return { status: res.statusCode, headers: res.headers, body, contentType };
}
