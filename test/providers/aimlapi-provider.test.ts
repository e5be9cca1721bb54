// AIML API provider against the local emulator, over real HTTP on 127.0.0.1.
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Dispatcher } from 'undici';
import { BUILTIN_MODELS } from '../../src/providers/index.js';
import type { ModelSpec } from '../../src/core/catalogue.js';
import { ProviderError, RateLimitError } from '../../src/core/errors.js';
import type { ProviderCallContext, ProviderOperation, ProviderRequest, ProviderStatus, VideoProvider } from '../../src/core/ports.js';
import { createDispatcher } from '../../src/http/http-client.js';
import { buildAimlapiBody, createAimlapiProvider, signedUrlExpiry } from '../../src/providers/aimlapi/aimlapi-provider.js';
import { DEFAULT_AIMLAPI_KEY, startProviderEmulator } from '../emulator/provider-emulator.js';
import type { ProviderEmulator } from '../emulator/provider-emulator.js';
import { rejectionOf } from '../helpers/rejection.js';

const RENDER_MS = 30;
const TTL_MS = 2 * 3600 * 1000;
const PNG_DATA_URI =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const IMG = 'https://images.example.com/first.jpg';
const LAST = 'https://images.example.com/last.png';

/** The emulator decides render phases and URL expiry from this clock, not wall time. */
let t = Date.UTC(2025, 6, 21, 14, 31, 12, 345);
const now = (): number => t;

let emu: ProviderEmulator;
let dispatcher: Dispatcher;
let provider: VideoProvider;
const ctx: ProviderCallContext = { jobId: 'job-aiml', workDir: '/nonexistent' };

function spec(id: string): ModelSpec {
  const m = BUILTIN_MODELS.find((x) => x.id === id);
  if (!m) throw new Error(`no model ${id}`);
  return m;
}

function request(modelId: string, over: Partial<ProviderRequest> = {}): ProviderRequest {
  return {
    modelId,
    model: spec(modelId),
    prompt: 'a red fox trotting through fresh snow',
    resolution: '720p',
    duration: 5,
    seed: 1234,
    fixedCamera: false,
    watermark: false,
    ...over,
  };
}

const LITE_T2V = 'aimlapi/seedance-1-0-lite-t2v';
const LITE_I2V = 'aimlapi/seedance-1-0-lite-i2v';
const PRO_T2V = 'aimlapi/seedance-1-0-pro-t2v';
const PRO_I2V = 'aimlapi/seedance-1-0-pro-i2v';

function make(over: Partial<Parameters<typeof createAimlapiProvider>[0]> = {}): VideoProvider {
  return createAimlapiProvider({ baseUrl: emu.aimlapiUrl, apiKey: DEFAULT_AIMLAPI_KEY, dispatcher, ...over });
}

const caught = (p: Promise<unknown>) => rejectionOf(p, ProviderError);

function lastBody(): Record<string, unknown> {
  const posts = emu.requests.filter((r) => r.method === 'POST');
  return posts[posts.length - 1]?.body as Record<string, unknown>;
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  emu = await startProviderEmulator({ renderMs: () => RENDER_MS, now, videoUrlTtlMs: TTL_MS });
  dispatcher = createDispatcher({});
  provider = make();
});
afterAll(async () => {
  await dispatcher.close();
  await emu.close();
});
beforeEach(() => {
  emu.reset();
  t += 60_000;
});

describe('AIML API provider: request body', () => {
  it('sends model, prompt, resolution, integer duration, aspect_ratio, seed, watermark and camerafixed for t2v', async () => {
    const { operation, status } = await provider.start(
      request(LITE_T2V, { resolution: '1080p', duration: 10, aspectRatio: '21:9', seed: 4_294_967_295, watermark: true, fixedCamera: true }),
      ctx,
    );
    expect(emu.count({ service: 'aimlapi', method: 'POST', pathIncludes: '/v2/video/generations' })).toBe(1);
    const rec = emu.requests[0]!;
    expect(rec.headers['authorization']).toBe(`Bearer ${DEFAULT_AIMLAPI_KEY}`);
    expect(rec.headers['content-type']).toContain('application/json');
    expect(rec.body).toEqual({
      model: 'bytedance/seedance-1-0-lite-t2v',
      prompt: 'a red fox trotting through fresh snow',
      resolution: '1080p',
      duration: 10,
      aspect_ratio: '21:9',
      seed: 4_294_967_295,
      watermark: true,
      camerafixed: true,
    });
    expect(typeof (rec.body as Record<string, unknown>)['duration']).toBe('number');
    expect(operation).toEqual({ provider: 'aimlapi', id: expect.stringMatching(/^cgt-\d{14}-[a-z0-9]{5}$/), model: 'bytedance/seedance-1-0-lite-t2v' });
    expect(emu.jobs.has(operation.id)).toBe(true);
    expect(status).toEqual({ state: 'pending', providerStatus: 'queued', queued: true });
  });

  it('sends false flags explicitly and no image fields for t2v', async () => {
    await provider.start(request(PRO_T2V, { aspectRatio: '9:16' }), ctx);
    const body = lastBody();
    expect(body).toMatchObject({ model: 'bytedance/seedance-1-0-pro-t2v', watermark: false, camerafixed: false, aspect_ratio: '9:16' });
    expect(body).not.toHaveProperty('image_url');
    expect(body).not.toHaveProperty('last_image_url');
    expect(body).not.toHaveProperty('camera_fixed');
  });

  it('sends image_url (http URL) and never aspect_ratio for lite i2v, even if one is set', async () => {
    await provider.start(request(LITE_I2V, { image: { url: IMG, mime: 'image/jpeg' }, aspectRatio: '16:9' }), ctx);
    const body = lastBody();
    expect(body['model']).toBe('bytedance/seedance-1-0-lite-i2v');
    expect(body['image_url']).toBe(IMG);
    expect(body).not.toHaveProperty('aspect_ratio');
    expect(body).not.toHaveProperty('last_image_url');
    expect(emu.jobs.size).toBe(1);
  });

  it('sends a data URI image_url and last_image_url for pro i2v', async () => {
    await provider.start(request(PRO_I2V, { image: { url: PNG_DATA_URI }, lastFrame: { url: LAST } }), ctx);
    const body = lastBody();
    expect(body).toMatchObject({ model: 'bytedance/seedance-1-0-pro-i2v', image_url: PNG_DATA_URI, last_image_url: LAST });
    expect(body).not.toHaveProperty('aspect_ratio');
    expect(emu.jobs.size).toBe(1);
  });

  it('names the fixed-camera field from the model spec (camera_fixed for newer models)', () => {
    const newer: ModelSpec = { ...spec(LITE_T2V), fixedCameraField: 'camera_fixed' };
    const body = buildAimlapiBody({ ...request(LITE_T2V, { fixedCamera: true }), model: newer });
    expect(body['camera_fixed']).toBe(true);
    expect(body).not.toHaveProperty('camerafixed');
  });
});

describe('AIML API provider: create status codes', () => {
  it('accepts 200 on the current route', async () => {
    const { operation } = await provider.start(request(LITE_T2V), ctx);
    expect(emu.requests[0]).toMatchObject({ path: '/v2/video/generations', status: 200 });
    expect(emu.jobs.has(operation.id)).toBe(true);
  });

  it('accepts 201 on the legacy route and polls the legacy route too', async () => {
    const legacy = make({ legacyRoute: true });
    const { operation } = await legacy.start(request(LITE_T2V), ctx);
    expect(emu.requests[0]).toMatchObject({ method: 'POST', path: '/v2/generate/video/bytedance/generation', status: 201 });
    await legacy.status(operation, ctx);
    expect(emu.requests[1]?.path).toBe(`/v2/generate/video/bytedance/generation?generation_id=${operation.id}`);
  });

  it('accepts 201 on the current route and 200 on the legacy route when forced', async () => {
    emu.settings.createStatus = 201;
    await provider.start(request(LITE_T2V), ctx);
    emu.settings.createStatus = 200;
    await make({ legacyRoute: true }).start(request(LITE_T2V), ctx);
    expect(emu.requests.map((r) => r.status)).toEqual([201, 200]);
    expect(emu.jobs.size).toBe(2);
  });
});

describe('AIML API provider: status', () => {
  async function startJob(): Promise<{ operation: ProviderOperation; readyAt: number }> {
    const { operation } = await provider.start(request(LITE_T2V), ctx);
    const job = emu.jobs.get(operation.id);
    if (!job) throw new Error('no job');
    return { operation, readyAt: job.readyAt };
  }

  it('goes queued → generating → completed with url, credits and the signed-URL expiry', async () => {
    const { operation, readyAt } = await startJob();
    expect(readyAt).toBe(t + RENDER_MS);
    expect(await provider.status(operation, ctx)).toEqual({ state: 'pending', providerStatus: 'queued', queued: true });
    t += RENDER_MS / 2;
    expect(await provider.status(operation, ctx)).toEqual({ state: 'pending', providerStatus: 'generating', queued: false });
    t = readyAt;
    const done = await provider.status(operation, ctx);
    expect(done.state).toBe('completed');
    if (done.state !== 'completed' || done.video.kind !== 'url') throw new Error('expected a url video');
    expect(done.providerStatus).toBe('completed');
    expect(done.video.url).toMatch(new RegExp(`^${emu.aimlapiUrl}/cdn/${operation.id}\\.mp4\\?.*X-Tos-Signature=`));
    expect(done.creditsUsed).toBe(120000);
    // X-Tos-Date has whole seconds: the URL expires TTL after readyAt rounded down to the second.
    expect(done.video.expiresAt).toBe(Math.floor(readyAt / 1000) * 1000 + TTL_MS);
    // The URL works before that instant, and not after it.
    const ok = await fetch(done.video.url);
    expect(ok.status).toBe(200);
    await ok.arrayBuffer();
    expect(emu.count({ service: 'aimlapi', pathIncludes: 'generation_id=' })).toBe(3);
  });

  it('survives a JSON round trip of the operation (restart)', async () => {
    const { operation, readyAt } = await startJob();
    const revived = JSON.parse(JSON.stringify(operation)) as ProviderOperation;
    t = readyAt;
    expect((await provider.status(revived, ctx)).state).toBe('completed');
  });

  it('treats `succeeded` as done and `waiting`/`active` as pending', async () => {
    emu.settings.pendingWords = ['waiting', 'active'];
    emu.settings.completedWord = 'succeeded';
    const { operation, status } = await provider.start(request(LITE_T2V), ctx);
    expect(status).toEqual({ state: 'pending', providerStatus: 'waiting', queued: true });
    const readyAt = emu.jobs.get(operation.id)!.readyAt;
    expect(await provider.status(operation, ctx)).toEqual({ state: 'pending', providerStatus: 'waiting', queued: true });
    t += RENDER_MS / 2;
    expect(await provider.status(operation, ctx)).toEqual({ state: 'pending', providerStatus: 'active', queued: false });
    t = readyAt;
    const done = await provider.status(operation, ctx);
    expect(done).toMatchObject({ state: 'completed', providerStatus: 'succeeded', video: { kind: 'url' }, creditsUsed: 120000 });
  });

  it('reports an unknown status word as pending with an anomaly, not as done or failed', async () => {
    const { operation, readyAt } = await startJob();
    t = readyAt;
    emu.addFault({ kind: 'statusWord', word: 'Rendering-Phase-2' });
    const s = await provider.status(operation, ctx);
    expect(s.state).toBe('pending');
    if (s.state !== 'pending') return;
    expect(s.providerStatus).toBe('rendering-phase-2');
    expect(s.queued).toBe(false);
    expect(s.anomaly).toContain('Rendering-Phase-2');
    // The next poll is normal again.
    expect((await provider.status(operation, ctx)).state).toBe('completed');
  });

  it('reads mixed-case status words', async () => {
    const { operation } = await startJob();
    emu.addFault({ kind: 'statusWord', word: 'COMPLETED' });
    // "COMPLETED" without a video is a failure to report, not an endless wait.
    expect(await provider.status(operation, ctx)).toMatchObject({ state: 'failed', providerStatus: 'completed', error: { code: 'no_video' } });
    emu.addFault({ kind: 'statusWord', word: 'Queued' });
    expect(await provider.status(operation, ctx)).toEqual({ state: 'pending', providerStatus: 'queued', queued: true });
  });

  it('maps status `error` to failed with the provider message', async () => {
    emu.settings.failNext = 1;
    const { operation, readyAt } = await startJob();
    t += RENDER_MS / 2;
    expect((await provider.status(operation, ctx)).state).toBe('pending');
    t = readyAt;
    const s: ProviderStatus = await provider.status(operation, ctx);
    expect(s).toEqual({
      state: 'failed',
      providerStatus: 'error',
      error: { code: 'GenerationError', message: 'Output video may contain sensitive content' },
    });
  });

  it('completes without credits or expiry when the answer carries neither', async () => {
    const { operation } = await startJob();
    emu.addFault({
      kind: 'status',
      method: 'GET',
      status: 200,
      body: { id: operation.id, status: 'completed', video: { url: 'https://cdn.example.com/v.mp4' } },
    });
    const s = await provider.status(operation, ctx);
    expect(s).toEqual({ state: 'completed', providerStatus: 'completed', video: { kind: 'url', url: 'https://cdn.example.com/v.mp4' } });
  });

  it('reads credits from the x-aimlapi-credits-used header when meta is missing', async () => {
    const srv = createHttpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-aimlapi-credits-used': '63000' });
      res.end(JSON.stringify({ id: 'g1', status: 'completed', video: { url: 'https://cdn.example.com/v.mp4' } }));
    });
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = srv.address() as AddressInfo;
      const s = await make({ baseUrl: `http://127.0.0.1:${port}/` }).status({ provider: 'aimlapi', id: 'g1' }, ctx);
      expect(s).toMatchObject({ state: 'completed', creditsUsed: 63000 });
    } finally {
      srv.closeAllConnections();
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    }
  });

  it('answers status 404 not_found for an unknown generation id', async () => {
    const err = await caught(provider.status({ provider: 'aimlapi', id: 'cgt-20250101000000-nope0' }, ctx));
    expect(err.code).toBe('not_found');
    expect(err.status).toBe(404);
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('cgt-20250101000000-nope0');
  });

  it('url-encodes odd generation ids', async () => {
    const err = await caught(provider.status({ provider: 'aimlapi', id: 'a&b=c d' }, ctx));
    expect(err.code).toBe('not_found');
    expect(emu.requests[0]?.query['generation_id']).toBe('a&b=c d');
  });

  it('treats an answer without an id as an unexpected, retryable response', async () => {
    emu.addFault({ kind: 'status', method: 'POST', status: 200, body: { status: 'queued' } });
    const err = await caught(provider.start(request(LITE_T2V), ctx));
    expect(err.code).toBe('unexpected_response');
    expect(err.retryable).toBe(true);
    expect(err.notCreated).toBe(false);
  });
});

describe('AIML API provider: errors', () => {
  it('maps a bad key to bad_key 401, not created, not retryable', async () => {
    const err = await caught(make({ apiKey: 'wrong' }).start(request(LITE_T2V), ctx));
    expect(err).toMatchObject({ code: 'bad_key', status: 401, notCreated: true, retryable: false, provider: 'aimlapi' });
    expect(err.message).toMatch(/valid API key/);
    expect(emu.jobs.size).toBe(0);
  });

  it('maps a bad key on status to bad_key too', async () => {
    const { operation } = await provider.start(request(LITE_T2V), ctx);
    const err = await caught(make({ apiKey: 'wrong' }).status(operation, ctx));
    expect(err).toMatchObject({ code: 'bad_key', status: 401 });
  });

  it('maps no credits to out_of_credits 403', async () => {
    emu.credits.aimlapi = 0;
    const err = await caught(provider.start(request(LITE_T2V), ctx));
    expect(err).toMatchObject({ code: 'out_of_credits', status: 403, notCreated: true, retryable: false });
    expect(err.message).toMatch(/run out of credits/);
    expect(emu.jobs.size).toBe(0);
  });

  it('maps a body validation error to provider_rejected with the detail text', async () => {
    const bad = { ...request(LITE_T2V), duration: 7 };
    const err = await caught(provider.start(bad, ctx));
    expect(err).toMatchObject({ code: 'provider_rejected', status: 400, notCreated: true, retryable: false });
    expect(err.message).toContain('Body validation error!');
    expect(err.message).toContain('Expected 5 | 10');
    expect((emu.requests[0]?.body as Record<string, unknown>)['duration']).toBe(7);
    expect(emu.jobs.size).toBe(0);
  });

  it('maps correctly when statusCode in the envelope is a string', async () => {
    emu.settings.statusCodeAsString = true;
    const key = await caught(make({ apiKey: 'wrong' }).start(request(LITE_T2V), ctx));
    expect(key).toMatchObject({ code: 'bad_key', status: 401, notCreated: true });
    emu.credits.aimlapi = 0;
    const credits = await caught(provider.start(request(LITE_T2V), ctx));
    expect(credits).toMatchObject({ code: 'out_of_credits', status: 403 });
    expect((credits.body as Record<string, unknown>)['statusCode']).toBe('403');
  });

  it('maps 429 with Retry-After to RateLimitError', async () => {
    emu.addFault({ service: 'aimlapi', method: 'POST', kind: 'status', status: 429, retryAfterSeconds: 7 });
    const err = await caught(provider.start(request(LITE_T2V), ctx));
    expect(err).toBeInstanceOf(RateLimitError);
    expect(err).toMatchObject({ code: 'rate_limited', status: 429, retryAfterMs: 7000, notCreated: true, retryable: true });
    expect(err.message).toBe('Too Many Requests');
    expect(emu.jobs.size).toBe(0);
  });

  it('maps 429 without Retry-After on a poll to RateLimitError without a delay', async () => {
    const { operation } = await provider.start(request(LITE_T2V), ctx);
    emu.addFault({ method: 'GET', kind: 'status', status: 429 });
    const err = await caught(provider.status(operation, ctx));
    expect(err).toBeInstanceOf(RateLimitError);
    expect((err as RateLimitError).retryAfterMs).toBeUndefined();
  });

  it('maps 500 on create to retryable but possibly created', async () => {
    emu.addFault({ method: 'POST', kind: 'status', status: 500 });
    const err = await caught(provider.start(request(LITE_T2V), ctx));
    expect(err).toMatchObject({ code: 'provider_unavailable', status: 500, retryable: true, notCreated: false });
    expect(err.message).toBe('Internal server error');
  });

  it('maps 504 "Generation timeout" on a poll to provider_unavailable', async () => {
    const { operation } = await provider.start(request(LITE_T2V), ctx);
    emu.addFault({ method: 'GET', kind: 'status', status: 504 });
    const err = await caught(provider.status(operation, ctx));
    expect(err).toMatchObject({ code: 'provider_unavailable', status: 504, retryable: true });
    expect(err.message).toBe('Generation timeout');
  });

  it('maps a connection reset on create to network, possibly created', async () => {
    emu.addFault({ method: 'POST', kind: 'reset' });
    const err = await caught(provider.start(request(LITE_T2V), ctx));
    expect(err).toMatchObject({ code: 'network', status: 0, retryable: true, notCreated: false, provider: 'aimlapi' });
    expect(emu.requests[0]).toMatchObject({ method: 'POST', status: 0 });
    // The provider did not retry by itself.
    expect(emu.count({ method: 'POST' })).toBe(1);
  });

  it('maps a refused connection to network, certainly not created', async () => {
    const port = await closedPort();
    const dead = make({ baseUrl: `http://127.0.0.1:${port}` });
    const err = await caught(dead.start(request(LITE_T2V), ctx));
    expect(err).toMatchObject({ code: 'network', status: 0, retryable: true, notCreated: true });
    expect(err.message).toMatch(/ECONNREFUSED/);
  });

  it('maps an aborted call to network without hanging', async () => {
    emu.addFault({ method: 'POST', kind: 'delay', ms: 100 });
    const ac = new AbortController();
    const p = provider.start(request(LITE_T2V), { ...ctx, signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    const err = await caught(p);
    expect(err.code).toBe('network');
    expect(err.message).toContain('AbortError');
    expect(err.notCreated).toBe(false);
    // Rightly so: the provider still creates the (paid) job after the client gave up.
    await vi.waitFor(() => expect(emu.jobs.size).toBe(1));
  });

  it('maps an HTML 502 page to provider_unavailable with readable text', async () => {
    emu.addFault({ method: 'POST', kind: 'status', status: 502, body: '<html><body><h1>502 Bad Gateway</h1></body></html>' });
    const err = await caught(provider.start(request(LITE_T2V), ctx));
    expect(err).toMatchObject({ code: 'provider_unavailable', status: 502, notCreated: false });
    expect(err.message).toContain('502 Bad Gateway');
  });
});

describe('AIML API provider: slow answers', () => {
  it('parses a create and a completed poll whose bodies arrive in small chunks', async () => {
    emu.addFault({ method: 'POST', kind: 'slowBody', ms: 5, chunkBytes: 7 });
    const { operation, status } = await provider.start(request(LITE_T2V), ctx);
    expect(status).toEqual({ state: 'pending', providerStatus: 'queued', queued: true });
    t = emu.jobs.get(operation.id)!.readyAt;
    emu.addFault({ method: 'GET', kind: 'slowBody', ms: 2, chunkBytes: 16 });
    const done = await provider.status(operation, ctx);
    expect(done).toMatchObject({ state: 'completed', creditsUsed: 120000, video: { kind: 'url' } });
  });

  it('waits out a delayed answer within the timeout', async () => {
    emu.addFault({ kind: 'delay', ms: 50, times: 2 });
    const { operation } = await provider.start(request(LITE_T2V), ctx);
    expect(await provider.status(operation, ctx)).toMatchObject({ state: 'pending', queued: true });
    expect(emu.requests.map((r) => r.status)).toEqual([200, 200]);
  });
});

describe('signedUrlExpiry', () => {
  it('adds X-Tos-Expires seconds to X-Tos-Date', () => {
    expect(signedUrlExpiry('https://x.example/v.mp4?X-Tos-Date=20250721T143112Z&X-Tos-Expires=86400')).toBe(
      Date.UTC(2025, 6, 22, 14, 31, 12),
    );
  });

  it('reads the AWS-style spelling too', () => {
    expect(signedUrlExpiry('https://x.example/v.mp4?X-Amz-Date=20250721T000000Z&X-Amz-Expires=60')).toBe(Date.UTC(2025, 6, 21, 0, 1, 0));
  });

  it('gives no expiry for unsigned, malformed or half-signed URLs', () => {
    expect(signedUrlExpiry('https://x.example/v.mp4')).toBeUndefined();
    expect(signedUrlExpiry('not a url')).toBeUndefined();
    expect(signedUrlExpiry('https://x.example/v.mp4?X-Tos-Date=2025-07-21&X-Tos-Expires=60')).toBeUndefined();
    expect(signedUrlExpiry('https://x.example/v.mp4?X-Tos-Date=20250721T143112Z&X-Tos-Expires=soon')).toBeUndefined();
    // A date without a lifetime says nothing about expiry (it must not mean "expired at signing").
    expect(signedUrlExpiry('https://x.example/v.mp4?X-Tos-Date=20250721T143112Z')).toBeUndefined();
  });
});
