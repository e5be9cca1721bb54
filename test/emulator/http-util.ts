// Request/response plumbing shared by both emulated servers.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { EmulatorState } from './state.js';
import type { RecordedRequest } from './types.js';

export const MAX_BODY_BYTES = 64 * 1024 * 1024;

export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  state: EmulatorState;
  method: string;
  /** Path without the query string. */
  pathname: string;
  query: Record<string, string>;
  body: unknown;
  /** Set when the body was not valid JSON although it was not empty. */
  bodyError?: string;
  record: RecordedRequest;
  /** AIML x-request-id / envelope requestId. */
  requestId: string;
  /** Set by a 'slowBody' fault. */
  slow?: { ms: number; chunkBytes?: number };
  /** Set by a 'statusWord' fault. */
  statusWord?: string;
}

export class BodyTooLargeError extends Error {}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLargeError('body too large');
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

export function parseBody(raw: Buffer, contentType: string | undefined): { body: unknown; error?: string } {
  if (raw.length === 0) return { body: undefined };
  const text = raw.toString('utf8');
  const looksJson = /json/i.test(contentType ?? '') || /^\s*[[{]/.test(text);
  if (!looksJson) return { body: text };
  try {
    return { body: JSON.parse(text) as unknown };
  } catch (err) {
    return { body: text, error: `Invalid JSON: ${(err as Error).message}` };
  }
}

export function flatHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function defaultChunkSize(length: number): number {
  return Math.max(1, Math.min(256, Math.ceil(length / 4)));
}

/** Sends a response, honouring a slowBody fault; records the status. */
export async function send(
  ex: Exchange,
  status: number,
  headers: OutgoingHttpHeaders,
  body: Buffer | string,
): Promise<void> {
  const { res } = ex;
  ex.record.status = status;
  if (res.headersSent || res.destroyed) return;
  const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const all: OutgoingHttpHeaders = { ...headers, 'content-length': buf.length };
  if (ex.method === 'HEAD') {
    res.writeHead(status, all).end();
    return;
  }
  if (!ex.slow || buf.length === 0) {
    res.writeHead(status, all).end(buf);
    return;
  }
  const { ms } = ex.slow;
  const size = ex.slow.chunkBytes ?? defaultChunkSize(buf.length);
  res.writeHead(status, all);
  res.flushHeaders();
  for (let offset = 0; offset < buf.length; offset += size) {
    if (offset > 0 && !(await ex.state.sleep(ms))) return;
    if (res.destroyed) return;
    res.write(buf.subarray(offset, offset + size));
  }
  res.end();
}

export function sendJson(ex: Exchange, status: number, value: unknown, headers: OutgoingHttpHeaders = {}): Promise<void> {
  return send(ex, status, { 'content-type': 'application/json; charset=utf-8', ...headers }, JSON.stringify(value));
}

/** Serialises numbers so that Infinity survives JSON (as null). */
export function finiteOrNull(n: number): number | null {
  return Number.isFinite(n) ? n : null;
}
