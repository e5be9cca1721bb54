// Serving finished videos: AIML's signed, expiring TOS URLs and Segmind's output files.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { send } from './http-util.js';
import type { Exchange } from './http-util.js';
import type { EmulatorState } from './state.js';
import type { EmulatorJob } from './types.js';

const ALGORITHM = 'TOS4-HMAC-SHA256';

/** yyyyMMddTHHmmssZ */
export function tosDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

function signature(state: EmulatorState, id: string, date: string, expires: string): string {
  return createHmac('sha256', state.signingKey).update(`${ALGORITHM}\n${id}\n${date}\n${expires}`).digest('hex');
}

export function signedVideoUrl(state: EmulatorState, job: EmulatorJob): string {
  const date = tosDate(job.readyAt);
  const expires = String(Math.max(1, Math.ceil(state.opts.videoUrlTtlMs / 1000)));
  const params = new URLSearchParams({
    'X-Tos-Algorithm': ALGORITHM,
    'X-Tos-Date': date,
    'X-Tos-Expires': expires,
    'X-Tos-Signature': signature(state, job.id, date, expires),
  });
  return `${state.aimlapiUrl}/cdn/${encodeURIComponent(job.id)}.mp4?${params.toString()}`;
}

export function xmlError(
  ex: Exchange,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Promise<void> {
  const xml =
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>` +
    `<RequestId>${ex.requestId}</RequestId></Error>`;
  return send(ex, status, { 'content-type': 'application/xml', 'x-request-id': ex.requestId, ...headers }, xml);
}

function sendVideo(ex: Exchange): Promise<void> {
  return send(
    ex,
    200,
    { 'content-type': 'video/mp4', 'accept-ranges': 'none', 'x-request-id': ex.requestId },
    ex.state.opts.videoBytes,
  );
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** GET /cdn/<id>.mp4?X-Tos-... on the AIML server. */
export function handleAimlCdn(ex: Exchange): Promise<void> {
  const { state } = ex;
  if (ex.method !== 'GET' && ex.method !== 'HEAD') {
    return xmlError(ex, 405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
  }
  const match = /^\/cdn\/([^/]+)\.mp4$/.exec(ex.pathname);
  const id = match?.[1] !== undefined ? decodeURIComponent(match[1]) : undefined;
  const job = id !== undefined ? state.jobs.get(id) : undefined;
  if (id === undefined || !job || job.service !== 'aimlapi' || job.outcome !== 'success') {
    return xmlError(ex, 404, 'NoSuchKey', 'The specified key does not exist.');
  }
  const q = ex.query;
  const date = q['X-Tos-Date'] ?? '';
  const expires = q['X-Tos-Expires'] ?? '';
  const given = q['X-Tos-Signature'] ?? '';
  if (q['X-Tos-Algorithm'] !== ALGORITHM || !sameHex(given, signature(state, id, date, expires))) {
    return xmlError(ex, 403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
  }
  const now = state.opts.now();
  if (now < job.readyAt) return xmlError(ex, 404, 'NoSuchKey', 'The specified key does not exist.');
  if (now > job.readyAt + state.opts.videoUrlTtlMs) {
    return xmlError(ex, 403, 'AccessDenied', 'Request has expired');
  }
  return sendVideo(ex);
}

/** GET /outputs/<id>.mp4 on the Segmind server (public, no key). */
export function handleSegmindOutput(ex: Exchange): Promise<void> {
  const { state } = ex;
  if (ex.method !== 'GET' && ex.method !== 'HEAD') {
    return xmlError(ex, 405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
  }
  const match = /^\/outputs\/([^/]+)\.mp4$/.exec(ex.pathname);
  const job = match?.[1] !== undefined ? state.jobs.get(decodeURIComponent(match[1])) : undefined;
  const now = state.opts.now();
  if (!job || job.service !== 'segmind' || job.outcome !== 'success' || now < job.readyAt) {
    return xmlError(ex, 404, 'NoSuchKey', 'The specified key does not exist.');
  }
  if (now > job.readyAt + state.opts.segmindResultTtlMs) {
    return xmlError(ex, 403, 'AccessDenied', 'Request has expired');
  }
  return sendVideo(ex);
}
