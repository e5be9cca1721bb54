/**
 * What may reach a log line. Errors are reduced to named fields (no headers, no
 * request or response bodies, no nested client objects); every value is bounded;
 * URLs lose their tokens and query strings; known secrets and token-shaped
 * strings are masked in the finished line; no line exceeds MAX_LINE_BYTES.
 *
 * Platform clients attach a great deal to their errors: @slack/web-api keeps
 * the original HTTP error (request headers with `Authorization: Bearer xoxb-…`),
 * discord.js keeps `requestBody` (the files of an upload). None of it is read.
 */

export const MAX_LINE_BYTES = 16 * 1024;
const MAX_STRING = 2000;
const MAX_STACK_LINES = 8;
const MAX_ITEMS = 20;
const MAX_KEYS = 40;
const MAX_DEPTH = 4;
const MAX_CAUSES = 3;
const MASK = '***';

/** Keys whose values are never logged, whatever they hold. */
const DROPPED_KEYS = new Set([
  'headers',
  'authorization',
  'cookie',
  'body',
  'requestbody',
  'rawbody',
  'data',
  'files',
  'file',
  'token',
  'apikey',
  'password',
  'secret',
  'config',
  'request',
  'response',
  'socket',
  'original',
  'rawerror',
]);

/** The text of a URL without its credentials: path tokens masked, query values removed. */
export function maskUrl(url: string): string {
  return url
    .replace(/(\/\/)[^/@\s]+@/g, '$1')
    .replace(/(\/interactions\/\d+\/)[^/?\s"]+/g, `$1${MASK}`)
    .replace(/(\/webhooks\/\d+\/)[^/?\s"]+/g, `$1${MASK}`)
    .replace(/(hooks\.slack\.com\/(?:commands|actions|services|workflows|triggers)\/)[^?\s"]+/g, `$1${MASK}`)
    .replace(/(\/(?:commands|actions)\/T[A-Z0-9]+\/\d+\/)[^?\s"]+/g, `$1${MASK}`)
    .replace(/\?[^\s"#]*/g, (q) => (q.length > 1 ? `?${MASK}` : q));
}

const HOOK_REF_RE = /\b(discord:hook:\d+:)[^:\s"'\\]+/g;
const URL_RE = /\b(?:https?|wss?|redis|rediss):\/\/[^\s"'<>\\]+/g;
const TOKEN_RES: RegExp[] = [
  // Slack tokens: bot, user, app-level, refresh, config.
  /\bxox[a-z]-[A-Za-z0-9-]{8,}/g,
  /\bxapp-[A-Za-z0-9-]{8,}/g,
  // Discord bot tokens: base64 user id . timestamp . hmac.
  /\b[A-Za-z0-9_-]{18,30}\.[A-Za-z0-9_-]{5,7}\.[A-Za-z0-9_-]{25,}/g,
  // Authorization schemes written out.
  /\b(Bearer|Bot|Basic|Token)\s+[A-Za-z0-9._~+/=-]{12,}/g,
];

/** Masks URLs, token-shaped strings and the given literal secrets in a piece of text. */
export function scrubText(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(MASK);
  out = out.replace(URL_RE, maskUrl);
  // A Discord interaction-webhook reference (discord:hook:<app>:<token>:…) holds the interaction's token.
  out = out.replace(HOOK_REF_RE, `$1${MASK}`);
  for (const re of TOKEN_RES) out = out.replace(re, (m, scheme?: string) => (typeof scheme === 'string' && m.startsWith(scheme) ? `${scheme} ${MASK}` : MASK));
  return out;
}

function clip(s: string, max = MAX_STRING): string {
  return s.length > max ? `${s.slice(0, max)}…[${s.length - max} more chars]` : s;
}

function isBinary(v: unknown): boolean {
  return ArrayBuffer.isView(v) || v instanceof ArrayBuffer || (typeof Blob !== 'undefined' && v instanceof Blob);
}

function binarySize(v: unknown): number {
  if (ArrayBuffer.isView(v)) return v.byteLength;
  if (v instanceof ArrayBuffer) return v.byteLength;
  return (v as Blob).size;
}

type Fields = Record<string, unknown>;

function pick(err: Fields, out: Fields, key: string, as = key) {
  const v = err[key];
  if (v === undefined || v === null) return;
  if (typeof v === 'string') out[as] = key === 'url' ? maskUrl(clip(v, 500)) : clip(v, 500);
  else if (typeof v === 'number' || typeof v === 'boolean') out[as] = v;
}

/** The platform's own error code, where a client library nests it. */
function platformCode(err: Fields): string | number | undefined {
  const data = err.data as Fields | undefined;
  if (data && typeof data === 'object' && typeof data.error === 'string') return data.error; // @slack/web-api platform error
  const raw = err.rawError as Fields | undefined;
  if (raw && typeof raw === 'object' && (typeof raw.code === 'number' || typeof raw.code === 'string')) return raw.code as string | number; // discord.js
  return undefined;
}

/**
 * An error as a log may hold it: name, message, code, status, method, a masked
 * URL, the platform's error code, retry hints, a short stack and its causes.
 */
export function serializeError(err: unknown, depth = 0): Fields {
  if (!(err instanceof Error)) {
    if (err && typeof err === 'object') return { type: 'non-error', value: boundValue(err, MAX_DEPTH - 1) };
    return { type: 'non-error', message: clip(String(err), 500) };
  }
  const e = err as unknown as Fields;
  const out: Fields = { type: err.name || err.constructor?.name || 'Error', message: clip(err.message ?? '', 1000) };
  for (const key of ['code', 'status', 'statusCode', 'method', 'url', 'provider', 'retryable', 'notCreated', 'retryAfter', 'retryAfterMs', 'timeToReset', 'global', 'scope', 'route', 'syscall', 'errno']) pick(e, out, key);
  const platform = platformCode(e);
  if (platform !== undefined) out.platformCode = platform;
  if (typeof err.stack === 'string') {
    const frames = err.stack.split('\n').filter((l) => l.trimStart().startsWith('at ')).slice(0, MAX_STACK_LINES).map((l) => l.trim());
    if (frames.length) out.stack = frames;
  }
  if (depth < MAX_CAUSES) {
    // @slack/web-api and Bolt keep the underlying error as `original`; only its named fields are kept.
    const cause = err.cause ?? e.original;
    if (cause !== undefined && cause !== err) out.cause = serializeError(cause, depth + 1);
    if (Array.isArray(e.errors) && err instanceof AggregateError) out.errors = e.errors.slice(0, 3).map((x) => serializeError(x, depth + 1));
  }
  return out;
}

/** A value bounded in depth, breadth and size; errors serialized; secrets' keys and bodies dropped. */
export function boundValue(v: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (v === null || v === undefined || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'string') return clip(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'function' || typeof v === 'symbol') return undefined;
  if (v instanceof Error) return serializeError(v);
  if (isBinary(v)) return `[${binarySize(v)} bytes]`;
  if (v instanceof Date) return v.toISOString();
  if (v instanceof URL) return maskUrl(v.href);
  const o = v as object;
  if (seen.has(o)) return '[circular]';
  if (depth >= MAX_DEPTH) return Array.isArray(o) ? `[array of ${o.length}]` : '[object]';
  seen.add(o);
  if (Array.isArray(o)) {
    const items = o.slice(0, MAX_ITEMS).map((x) => boundValue(x, depth + 1, seen));
    if (o.length > MAX_ITEMS) items.push(`…${o.length - MAX_ITEMS} more`);
    return items;
  }
  if (o instanceof Map || o instanceof Set) return `[${o.constructor.name} of ${o.size}]`;
  const out: Fields = {};
  let n = 0;
  for (const key of Object.keys(o)) {
    if (n++ >= MAX_KEYS) {
      out['…'] = `${Object.keys(o).length - MAX_KEYS} more keys`;
      break;
    }
    if (DROPPED_KEYS.has(key.toLowerCase())) continue;
    const value = boundValue((o as Fields)[key], depth + 1, seen);
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/** The top-level log object: each value bounded (the keys are the caller's own). */
export function boundLogObject(obj: Fields): Fields {
  const out: Fields = {};
  for (const key of Object.keys(obj)) {
    if (DROPPED_KEYS.has(key.toLowerCase())) continue;
    const v = obj[key];
    out[key] = key === 'err' || key === 'error' ? (v instanceof Error ? serializeError(v) : boundValue(v, 1)) : boundValue(v, 1);
  }
  return out;
}

/** The finished line, scrubbed and never over MAX_LINE_BYTES (a longer one is replaced by a short notice). */
export function safeLine(line: string, secrets: readonly string[] = []): string {
  let out = scrubText(line, secrets);
  if (Buffer.byteLength(out) <= MAX_LINE_BYTES) return out;
  let head: Fields = {};
  try {
    head = JSON.parse(out) as Fields;
  } catch {
    /* not JSON: keep nothing but the notice */
  }
  const notice: Fields = {};
  for (const k of ['level', 'time', 'pid', 'hostname', 'app', 'platform', 'job']) if (head[k] !== undefined && typeof head[k] !== 'object') notice[k] = head[k];
  notice.msg = clip(typeof head.msg === 'string' ? head.msg : '', 1000);
  notice.truncated = `log line of ${Buffer.byteLength(out)} bytes dropped (limit ${MAX_LINE_BYTES})`;
  out = `${JSON.stringify(notice)}\n`;
  return out;
}
