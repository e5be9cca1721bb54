/**
 * AIML API: `POST /v2/video/generations` to create, `GET ?generation_id=` to poll.
 * Accepts 200 (current schema) and 201 (legacy route); Bearer key.
 */
import type { Dispatcher } from 'undici';
import { ProviderError } from '../../core/errors.js';
import type { ProviderOperation, ProviderRequest, ProviderStatus, VideoProvider } from '../../core/ports.js';
import type { HttpResponse } from '../../http/http-client.js';
import { callJson, header } from '../../http/http-client.js';
import { errorText, httpFailure, networkFailure } from '../provider-errors.js';
import type { Generation } from './aimlapi-schemas.js';
import { DONE_WORDS, FAILED_WORDS, QUEUED_WORDS, RUNNING_WORDS, generationSchema } from './aimlapi-schemas.js';

export interface AimlapiOptions {
  baseUrl: string;
  apiKey: string;
  dispatcher: Dispatcher;
  /** Use the legacy `/v2/generate/video/bytedance/generation` route. */
  legacyRoute?: boolean;
  submitTimeoutMs?: number;
  statusTimeoutMs?: number;
}

const NAME = 'aimlapi';
const CODES = { 401: 'bad_key', 403: 'out_of_credits', 404: 'not_found' };

/** Seconds from `X-Tos-Date` + `X-Tos-Expires` on a signed URL, if present. */
export function signedUrlExpiry(url: string): number | undefined {
  try {
    const q = new URL(url).searchParams;
    const date = q.get('X-Tos-Date') ?? q.get('X-Amz-Date');
    const expires = q.get('X-Tos-Expires') ?? q.get('X-Amz-Expires');
    // Number(null) is 0: without this check a date alone would read as "expired when signed".
    const ttl = expires ? Number(expires) : NaN;
    const m = date?.match(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/);
    if (!m || !Number.isFinite(ttl)) return undefined;
    return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) + ttl * 1000;
  } catch {
    return undefined;
  }
}

/**
 * The create body, with only the fields this model's schema has (the API refuses others):
 * the camera and sound flags under the model's own field names, references as arrays.
 */
export function buildAimlapiBody(req: ProviderRequest): Record<string, unknown> {
  const spec = req.model;
  const body: Record<string, unknown> = {
    model: spec.providerModel,
    prompt: req.prompt,
    resolution: req.resolution,
    duration: req.duration,
    seed: req.seed,
  };
  if (spec.watermark) body.watermark = req.watermark;
  if (spec.fixedCamera) body[spec.fixedCameraField] = req.fixedCamera;
  if (spec.audio) body[spec.audioField] = req.audio ?? true;
  if (req.aspectRatio && spec.aspectRatios.includes(req.aspectRatio)) body.aspect_ratio = req.aspectRatio;
  if (req.image) body.image_url = req.image.url;
  if (req.lastFrame) body.last_image_url = req.lastFrame.url;
  if (req.references?.length) body.image_urls = req.references.map((r) => r.url);
  if (req.referenceVideos?.length) body.video_urls = req.referenceVideos;
  if (req.referenceAudios?.length) body.audio_urls = req.referenceAudios;
  return body;
}

export function createAimlapiProvider(opts: AimlapiOptions): VideoProvider {
  const base = opts.baseUrl.replace(/\/+$/, '');
  const path = opts.legacyRoute ? '/v2/generate/video/bytedance/generation' : '/v2/video/generations';
  const auth = { authorization: `Bearer ${opts.apiKey}` };

  function fail(res: HttpResponse): ProviderError {
    const text = errorText(res.body) || `HTTP ${res.status}`;
    return httpFailure(NAME, res, text, CODES);
  }

  function parse(res: HttpResponse): Generation {
    const parsed = generationSchema.safeParse(res.body);
    if (!parsed.success) {
      throw new ProviderError('unexpected_response', `unexpected response from AIML API: ${JSON.stringify(res.body).slice(0, 200)}`, {
        provider: NAME,
        status: res.status,
        body: res.body,
        retryable: true,
      });
    }
    return parsed.data;
  }

  function toStatus(g: Generation, res: HttpResponse): ProviderStatus {
    const word = (g.status ?? '').toLowerCase();
    if (DONE_WORDS.has(word)) {
      if (!g.video?.url) return { state: 'failed', providerStatus: word, error: { code: 'no_video', message: 'the provider reported success but sent no video' } };
      const credits = g.meta?.usage?.credits_used ?? Number(header(res.headers, 'x-aimlapi-credits-used'));
      const expiresAt = signedUrlExpiry(g.video.url);
      return {
        state: 'completed',
        providerStatus: word,
        video: { kind: 'url', url: g.video.url, ...(expiresAt ? { expiresAt } : {}) },
        ...(Number.isFinite(credits) ? { creditsUsed: credits } : {}),
      };
    }
    if (FAILED_WORDS.has(word)) {
      const message = g.error?.message || g.error?.name || `the generation ended with status "${word}"`;
      return { state: 'failed', providerStatus: word, error: { code: g.error?.name || 'generation_failed', message } };
    }
    if (QUEUED_WORDS.has(word)) return { state: 'pending', providerStatus: word, queued: true };
    if (RUNNING_WORDS.has(word)) return { state: 'pending', providerStatus: word, queued: false };
    return { state: 'pending', providerStatus: word || '(none)', queued: false, anomaly: `unknown status "${g.status ?? ''}"` };
  }

  return {
    name: NAME,
    async start(req, ctx) {
      let res: HttpResponse;
      try {
        res = await callJson(opts.dispatcher, base + path, {
          method: 'POST',
          headers: auth,
          json: buildAimlapiBody(req),
          timeoutMs: opts.submitTimeoutMs ?? 60_000,
          signal: ctx.signal,
        });
      } catch (err) {
        throw networkFailure(NAME, err);
      }
      if (res.status !== 200 && res.status !== 201) throw fail(res);
      const g = parse(res);
      const operation: ProviderOperation = { provider: NAME, id: g.id, model: req.model.providerModel };
      return { operation, ...(g.status ? { status: toStatus(g, res) } : {}) };
    },
    async status(op, ctx) {
      let res: HttpResponse;
      try {
        res = await callJson(opts.dispatcher, `${base}${path}?generation_id=${encodeURIComponent(op.id)}`, {
          method: 'GET',
          headers: auth,
          timeoutMs: opts.statusTimeoutMs ?? 20_000,
          signal: ctx.signal,
        });
      } catch (err) {
        throw networkFailure(NAME, err);
      }
      if (res.status !== 200) throw fail(res);
      return toStatus(parse(res), res);
    },
  };
}
