/**
 * Segmind. Default: the async v2 API (`POST /v2/{slug}`, `GET /v2/requests/{id}/status`,
 * `GET /v2/requests/{id}`), so a submitted job survives a restart. Alternative:
 * the v1 synchronous endpoint whose response body is the MP4 itself.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Dispatcher } from 'undici';
import { request } from 'undici';
import { ProviderError } from '../../core/errors.js';
import type { ProviderRequest, ProviderStatus, VideoProvider } from '../../core/ports.js';
import type { HttpResponse } from '../../http/http-client.js';
import { callJson, closed, header, toNetworkError } from '../../http/http-client.js';
import { errorText, httpFailure, networkFailure } from '../provider-errors.js';
import { outputUrl, statusSchema, submitSchema } from './segmind-schemas.js';

export interface SegmindOptions {
  baseUrl: string;
  apiKey: string;
  dispatcher: Dispatcher;
  /** `async` (v2, resumable; default) or `sync` (v1, body is the MP4). */
  mode?: 'async' | 'sync';
  submitTimeoutMs?: number;
  statusTimeoutMs?: number;
  /** v1 renders inside the request: allow this long. */
  syncTimeoutMs?: number;
}

const NAME = 'segmind';
const RESULT_TTL_MS = 60 * 60_000;
const CODES = { 401: 'bad_key', 406: 'out_of_credits', 404: 'not_found' };

export function buildSegmindBody(req: ProviderRequest): Record<string, unknown> {
  const body: Record<string, unknown> = {
    prompt: req.prompt,
    duration: req.duration,
    resolution: req.resolution,
    seed: req.seed,
    [req.model.fixedCameraField]: req.fixedCamera,
  };
  // first_frame_url (never together with the legacy image_url) + optional last_frame_url.
  if (req.image) body.first_frame_url = req.image.url;
  if (req.lastFrame) body.last_frame_url = req.lastFrame.url;
  return body;
}

function credits(res: { headers: HttpResponse['headers'] }): { creditsRemaining?: number } {
  const n = Number(header(res.headers, 'x-remaining-credits'));
  return Number.isFinite(n) ? { creditsRemaining: n } : {};
}

export function createSegmindProvider(opts: SegmindOptions): VideoProvider {
  const base = opts.baseUrl.replace(/\/+$/, '');
  const auth = { 'x-api-key': opts.apiKey };
  const mode = opts.mode ?? 'async';

  const fail = (res: HttpResponse) => httpFailure(NAME, res, errorText(res.body) || `HTTP ${res.status}`, CODES);

  async function call(url: string, method: 'GET' | 'POST', json: unknown, timeoutMs: number, signal?: AbortSignal) {
    try {
      return await callJson(opts.dispatcher, url, { method, headers: auth, json, timeoutMs, signal });
    } catch (err) {
      throw networkFailure(NAME, err);
    }
  }

  function parseStatus(res: HttpResponse) {
    const parsed = statusSchema.safeParse(res.body);
    if (!parsed.success) {
      throw new ProviderError('unexpected_response', `unexpected response from Segmind: ${JSON.stringify(res.body).slice(0, 200)}`, {
        provider: NAME,
        status: res.status,
        body: res.body,
        retryable: true,
      });
    }
    return parsed.data;
  }

  async function startSync(req: ProviderRequest, jobId: string, workDir: string, signal?: AbortSignal) {
    const dir = join(workDir, 'videos');
    await mkdir(dir, { recursive: true });
    const path = join(dir, `${jobId}.mp4`);
    let res: Dispatcher.ResponseData;
    try {
      res = await request(`${base}/v1/${req.model.providerModel}`, {
        dispatcher: opts.dispatcher,
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify(buildSegmindBody(req)),
        headersTimeout: opts.syncTimeoutMs ?? 600_000,
        bodyTimeout: 60_000,
        signal,
      });
    } catch (err) {
      throw networkFailure(NAME, toNetworkError(err));
    }
    const type = String(res.headers['content-type'] ?? '');
    if (res.statusCode !== 200 || !type.startsWith('video/')) {
      const text = await res.body.text().catch(() => '');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON
      }
      const r: HttpResponse = { status: res.statusCode, headers: res.headers, body, contentType: type };
      if (res.statusCode === 200) throw new ProviderError('unexpected_response', `Segmind answered ${type || 'no content type'} instead of a video`, { provider: NAME, status: 200, body });
      throw fail(r);
    }
    const out = createWriteStream(`${path}.part`);
    try {
      await pipeline(res.body, out);
      await rename(`${path}.part`, path);
    } catch (err) {
      await closed(out);
      await rm(`${path}.part`, { force: true });
      throw networkFailure(NAME, toNetworkError(err));
    }
    const { size } = await stat(path);
    const status: ProviderStatus = { state: 'completed', providerStatus: 'COMPLETED', video: { kind: 'file', path, bytes: size }, ...credits(res) };
    return { operation: { provider: NAME, id: jobId, mode: 'sync', path, bytes: size }, status };
  }

  return {
    name: NAME,
    async start(req, ctx) {
      if (mode === 'sync') return startSync(req, ctx.jobId, ctx.workDir, ctx.signal);
      const res = await call(`${base}/v2/${req.model.providerModel}`, 'POST', buildSegmindBody(req), opts.submitTimeoutMs ?? 60_000, ctx.signal);
      if (res.status !== 200 && res.status !== 201 && res.status !== 202) throw fail(res);
      const parsed = submitSchema.safeParse(res.body);
      if (!parsed.success) {
        throw new ProviderError('unexpected_response', 'Segmind accepted the job but sent no request id', { provider: NAME, status: res.status, body: res.body });
      }
      return {
        operation: { provider: NAME, id: parsed.data.request_id, mode: 'async', submittedAt: Date.now() },
        status: { state: 'pending', providerStatus: parsed.data.status ?? 'QUEUED', queued: true },
      };
    },
    async status(op, ctx) {
      if (op.mode === 'sync') {
        const path = String(op.path);
        const exists = await stat(path).then(() => true, () => false);
        return exists
          ? { state: 'completed', providerStatus: 'COMPLETED', video: { kind: 'file', path, bytes: Number(op.bytes) } }
          : { state: 'failed', providerStatus: 'LOST', error: { code: 'result_lost', message: 'the finished video was lost from local storage' } };
      }
      const timeout = opts.statusTimeoutMs ?? 20_000;
      const res = await call(`${base}/v2/requests/${encodeURIComponent(op.id)}/status`, 'GET', undefined, timeout, ctx.signal);
      // A failed request answers 422 with the FAILED body.
      // (Any other 422 body is an ordinary error, not an unexpected response.)
      if (res.status !== 200 && !(res.status === 422 && statusSchema.safeParse(res.body).data?.status.toUpperCase() === 'FAILED')) throw fail(res);
      const s = parseStatus(res);
      const word = s.status.toUpperCase();
      if (word === 'QUEUED') return { state: 'pending', providerStatus: word, queued: true };
      if (word === 'PROCESSING') return { state: 'pending', providerStatus: word, queued: false };
      if (word === 'FAILED') return { state: 'failed', providerStatus: word, error: { code: 'generation_failed', message: errorText(s.error) || 'Segmind reported the generation failed' } };
      if (word !== 'COMPLETED') return { state: 'pending', providerStatus: word, queued: false, anomaly: `unknown status "${s.status}"` };
      const result = await call(`${base}/v2/requests/${encodeURIComponent(op.id)}`, 'GET', undefined, timeout, ctx.signal);
      if (result.status !== 200) throw fail(result);
      const url = outputUrl(parseStatus(result).output);
      if (!url) return { state: 'failed', providerStatus: word, error: { code: 'no_video', message: 'Segmind reported success but sent no video' } };
      // Segmind keeps results for an hour after submission.
      const expiresAt = typeof op.submittedAt === 'number' ? op.submittedAt + RESULT_TTL_MS : undefined;
      return { state: 'completed', providerStatus: word, video: { kind: 'url', url, ...(expiresAt ? { expiresAt } : {}) }, ...credits(result) };
    },
  };
}
