// Segmind provider (async v2 and sync v1) against the local emulator, over real HTTP on 127.0.0.1.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Dispatcher } from 'undici';
import { BUILTIN_MODELS } from '../../src/providers/index.js';
import { ProviderError, RateLimitError } from '../../src/core/errors.js';
import type { ProviderCallContext, ProviderOperation, ProviderRequest, VideoProvider } from '../../src/core/ports.js';
import { createDispatcher } from '../../src/http/http-client.js';
import { createSegmindProvider } from '../../src/providers/segmind/segmind-provider.js';
import type { SegmindOptions } from '../../src/providers/segmind/segmind-provider.js';
import { outputUrl } from '../../src/providers/segmind/segmind-schemas.js';
import { DEFAULT_SEGMIND_KEY, FIXTURE_VIDEO_URL, startProviderEmulator } from '../emulator/provider-emulator.js';
import type { ProviderEmulator } from '../emulator/provider-emulator.js';
import { rejectionOf } from '../helpers/rejection.js';

const RENDER_MS = 30;
const RESULT_TTL_MS = 3600 * 1000;
const SLUG = 'seedance-v1-lite-image-to-video';
const IMG = 'https://images.example.com/forest.jpeg';
const LAST = 'https://images.example.com/dusk.png';
const PNG_DATA_URI =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const MODEL = BUILTIN_MODELS.find((m) => m.provider === 'segmind')!;

/** The emulator's v2 phases follow this clock (v1 renders in real time: RENDER_MS). */
let t = Date.UTC(2025, 6, 21, 9, 0, 0, 500);
const now = (): number => t;

let emu: ProviderEmulator;
let dispatcher: Dispatcher;
let provider: VideoProvider;
let fixture: Buffer;
let workDir: string;
let ctx: ProviderCallContext;

function request(over: Partial<ProviderRequest> = {}): ProviderRequest {
  return {
    modelId: MODEL.id,
    model: MODEL,
    prompt: 'a serene forest at dawn, mist rising',
    resolution: '720p',
    duration: 5,
    seed: 4242,
    fixedCamera: true,
    watermark: false,
    image: { url: IMG, mime: 'image/jpeg' },
    ...over,
  };
}

function make(over: Partial<SegmindOptions> = {}): VideoProvider {
  return createSegmindProvider({ baseUrl: emu.segmindUrl, apiKey: DEFAULT_SEGMIND_KEY, dispatcher, ...over });
}

const caught = (p: Promise<unknown>) => rejectionOf(p, ProviderError);

beforeAll(async () => {
  emu = await startProviderEmulator({ renderMs: () => RENDER_MS, now, segmindResultTtlMs: RESULT_TTL_MS });
  dispatcher = createDispatcher({});
  provider = make();
  fixture = await readFile(FIXTURE_VIDEO_URL);
});
afterAll(async () => {
  await dispatcher.close();
  await emu.close();
});
beforeEach(async (test) => {
  emu.reset();
  t += 60_000;
  workDir = await mkdtemp(join(tmpdir(), 'segmind-test-'));
  ctx = { jobId: `job-${test.task.id}`, workDir };
  test.onTestFinished(() => rm(workDir, { recursive: true, force: true }));
});

describe('Segmind async (v2): request body', () => {
  it('sends first_frame_url (never image_url), camera_fixed and seed to /v2/<slug>', async () => {
    const { operation, status } = await provider.start(request(), ctx);
    expect(emu.requests).toHaveLength(1);
    const rec = emu.requests[0]!;
    expect(rec).toMatchObject({ service: 'segmind', method: 'POST', path: `/v2/${SLUG}`, status: 200 });
    expect(rec.headers['x-api-key']).toBe(DEFAULT_SEGMIND_KEY);
    expect(rec.headers['authorization']).toBeUndefined();
    expect(rec.body).toEqual({
      prompt: 'a serene forest at dawn, mist rising',
      duration: 5,
      resolution: '720p',
      seed: 4242,
      camera_fixed: true,
      first_frame_url: IMG,
    });
    expect(operation).toEqual({ provider: 'segmind', id: expect.stringMatching(/^[0-9a-f-]{36}$/), mode: 'async', submittedAt: expect.any(Number) });
    expect(emu.jobs.has(operation.id)).toBe(true);
    expect(status).toEqual({ state: 'pending', providerStatus: 'QUEUED', queued: true });
  });

  it('sends last_frame_url with a data-URI first frame, and no watermark or aspect ratio', async () => {
    await provider.start(request({ image: { url: PNG_DATA_URI }, lastFrame: { url: LAST }, fixedCamera: false, aspectRatio: '16:9', watermark: true, duration: 10, resolution: '480p' }), ctx);
    const body = emu.requests[0]!.body as Record<string, unknown>;
    expect(body).toEqual({
      prompt: 'a serene forest at dawn, mist rising',
      duration: 10,
      resolution: '480p',
      seed: 4242,
      camera_fixed: false,
      first_frame_url: PNG_DATA_URI,
      last_frame_url: LAST,
    });
    expect(emu.requests[0]!.status).toBe(200);
  });
});

describe('Segmind async (v2): status', () => {
  async function startJob(): Promise<{ operation: ProviderOperation; readyAt: number }> {
    const { operation } = await provider.start(request(), ctx);
    return { operation, readyAt: emu.jobs.get(operation.id)!.readyAt };
  }

  it('goes QUEUED → PROCESSING → COMPLETED with the output URL and remaining credits', async () => {
    emu.credits.segmind = 10;
    const { operation, readyAt } = await startJob();
    expect(await provider.status(operation, ctx)).toEqual({ state: 'pending', providerStatus: 'QUEUED', queued: true });
    t += RENDER_MS / 2;
    expect(await provider.status(operation, ctx)).toEqual({ state: 'pending', providerStatus: 'PROCESSING', queued: false });
    t = readyAt;
    const done = await provider.status(operation, ctx);
    expect(done).toEqual({
      state: 'completed',
      providerStatus: 'COMPLETED',
      video: { kind: 'url', url: `${emu.segmindUrl}/outputs/${operation.id}.mp4`, expiresAt: Number(operation.submittedAt) + 60 * 60_000 },
      creditsRemaining: 9,
    });
    expect(typeof operation.submittedAt).toBe('number');
    expect(emu.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST /v2/${SLUG}`,
      `GET /v2/requests/${operation.id}/status`,
      `GET /v2/requests/${operation.id}/status`,
      `GET /v2/requests/${operation.id}/status`,
      `GET /v2/requests/${operation.id}`,
    ]);
    // The URL serves the video.
    if (done.state !== 'completed' || done.video.kind !== 'url') throw new Error('unreachable');
    const res = await fetch(done.video.url);
    expect(Buffer.from(await res.arrayBuffer()).equals(fixture)).toBe(true);
  });

  it('survives a JSON round trip of the operation (restart)', async () => {
    const { operation, readyAt } = await startJob();
    t = readyAt;
    const revived = JSON.parse(JSON.stringify(operation)) as ProviderOperation;
    expect((await provider.status(revived, ctx)).state).toBe('completed');
  });

  it('maps FAILED (HTTP 422) to a failed state with the error text', async () => {
    emu.settings.failNext = 1;
    const { operation, readyAt } = await startJob();
    t = readyAt;
    const s = await provider.status(operation, ctx);
    expect(s).toEqual({
      state: 'failed',
      providerStatus: 'FAILED',
      error: { code: 'generation_failed', message: 'Video generation failed: output video may contain sensitive content' },
    });
    expect(emu.requests[emu.requests.length - 1]).toMatchObject({ status: 422 });
    expect(emu.count({ pathIncludes: '/v2/requests/', method: 'GET' })).toBe(1);
  });

  it('maps a 422 that is not a FAILED status body to a typed error', async () => {
    const { operation } = await startJob();
    emu.addFault({ method: 'GET', kind: 'status', status: 422, body: { error: 'Unprocessable request' } });
    const err = await caught(provider.status(operation, ctx));
    expect(err).toMatchObject({ code: 'provider_rejected', status: 422, message: 'Unprocessable request' });
  });

  it('reports an unknown status word as pending with an anomaly', async () => {
    const { operation } = await startJob();
    emu.addFault({ method: 'GET', kind: 'status', status: 200, body: { status: 'STARTING', request_id: operation.id } });
    const s = await provider.status(operation, ctx);
    expect(s).toMatchObject({ state: 'pending', providerStatus: 'STARTING', queued: false });
    expect(s.state === 'pending' && s.anomaly).toContain('STARTING');
  });

  it('fails with no_video when COMPLETED carries no usable output', async () => {
    const { operation, readyAt } = await startJob();
    t = readyAt;
    emu.addFault({ method: 'GET', pathIncludes: `/v2/requests/${operation.id}`, kind: 'status', status: 200, times: 2, body: { status: 'COMPLETED', output: 'not-a-url' } });
    expect(await provider.status(operation, ctx)).toMatchObject({ state: 'failed', error: { code: 'no_video' } });
  });

  it('maps 404 for an unknown request id to not_found', async () => {
    const err = await caught(provider.status({ provider: 'segmind', id: '00000000-0000-0000-0000-000000000000', mode: 'async' }, ctx));
    expect(err).toMatchObject({ code: 'not_found', status: 404, retryable: false, message: 'Request not found' });
  });

  it('maps 404 after Segmind dropped an old result to not_found', async () => {
    const { operation, readyAt } = await startJob();
    t = readyAt + RESULT_TTL_MS + 1;
    const err = await caught(provider.status(operation, ctx));
    expect(err).toMatchObject({ code: 'not_found', status: 404 });
  });

  it('maps a 5xx on the result fetch to a retryable error', async () => {
    const { operation, readyAt } = await startJob();
    t = readyAt;
    emu.addFault({ method: 'GET', kind: 'status', status: 502, pathIncludes: `/v2/requests/${operation.id}`, times: 1 });
    const err = await caught(provider.status(operation, ctx));
    expect(err).toMatchObject({ code: 'provider_unavailable', status: 502, retryable: true, message: 'Bad gateway' });
    expect((await provider.status(operation, ctx)).state).toBe('completed');
  });
});

describe('Segmind async (v2): errors', () => {
  it('maps 406 to out_of_credits', async () => {
    emu.credits.segmind = 0;
    const err = await caught(provider.start(request(), ctx));
    expect(err).toMatchObject({ code: 'out_of_credits', status: 406, notCreated: true, retryable: false, message: 'Insufficient credits' });
    expect(emu.jobs.size).toBe(0);
  });

  it('maps 401 to bad_key', async () => {
    const err = await caught(make({ apiKey: 'nope' }).start(request(), ctx));
    expect(err).toMatchObject({ code: 'bad_key', status: 401, notCreated: true, retryable: false, message: 'Invalid API key' });
    const { operation } = await provider.start(request(), ctx);
    expect(await caught(make({ apiKey: 'nope' }).status(operation, ctx))).toMatchObject({ code: 'bad_key', status: 401 });
  });

  it('maps a 1080p request to provider_rejected with the reason', async () => {
    const err = await caught(provider.start(request({ resolution: '1080p' }), ctx));
    expect(err).toMatchObject({ code: 'provider_rejected', status: 400, notCreated: true, retryable: false });
    expect(err.message).toContain('1080p is not supported');
  });

  it('maps seed 0 to provider_rejected with the reason', async () => {
    const err = await caught(provider.start(request({ seed: 0 }), ctx));
    expect(err.code).toBe('provider_rejected');
    expect(err.message).toContain('seed must be an integer between 1 and 999999');
    expect(emu.jobs.size).toBe(0);
  });

  it('maps 429 to RateLimitError with Retry-After', async () => {
    emu.addFault({ method: 'POST', kind: 'status', status: 429, retryAfterSeconds: 12 });
    const err = await caught(provider.start(request(), ctx));
    expect(err).toBeInstanceOf(RateLimitError);
    expect(err).toMatchObject({ retryAfterMs: 12_000, notCreated: true, message: 'Rate limit exceeded. Please try again later.' });
  });

  it('maps a reset on submit to network, possibly created', async () => {
    emu.addFault({ method: 'POST', kind: 'reset' });
    const err = await caught(provider.start(request(), ctx));
    expect(err).toMatchObject({ code: 'network', status: 0, notCreated: false, retryable: true });
  });

  it('maps a submit answer without request_id to unexpected_response', async () => {
    emu.addFault({ method: 'POST', kind: 'status', status: 200, body: { status: 'QUEUED' } });
    const err = await caught(provider.start(request(), ctx));
    expect(err).toMatchObject({ code: 'unexpected_response', notCreated: false });
  });

  it('parses slow, chunked answers', async () => {
    emu.addFault({ kind: 'slowBody', ms: 3, chunkBytes: 9, times: 3 });
    const { operation, readyAt } = await provider.start(request(), ctx).then((r) => ({ ...r, readyAt: emu.jobs.get(r.operation.id)!.readyAt }));
    t = readyAt;
    expect(await provider.status(operation, ctx)).toMatchObject({ state: 'completed', video: { kind: 'url' } });
  });
});

describe('Segmind sync (v1)', () => {
  const sync = () => make({ mode: 'sync' });

  it('writes the MP4 to <workDir>/videos/<jobId>.mp4 and returns a completed file status', async () => {
    emu.credits.segmind = 3;
    const { operation, status } = await sync().start(request({ lastFrame: { url: LAST } }), ctx);
    const path = join(workDir, 'videos', `${ctx.jobId}.mp4`);
    expect(emu.requests[0]).toMatchObject({ method: 'POST', path: `/v1/${SLUG}`, status: 200 });
    expect(emu.requests[0]!.body).toMatchObject({ first_frame_url: IMG, last_frame_url: LAST, camera_fixed: true, seed: 4242 });
    expect(emu.requests[0]!.body).not.toHaveProperty('image_url');
    expect((await readFile(path)).equals(fixture)).toBe(true);
    expect(await readdir(join(workDir, 'videos'))).toEqual([`${ctx.jobId}.mp4`]);
    expect(status).toEqual({ state: 'completed', providerStatus: 'COMPLETED', video: { kind: 'file', path, bytes: fixture.length }, creditsRemaining: 2 });
    expect(operation).toEqual({ provider: 'segmind', id: ctx.jobId, mode: 'sync', path, bytes: fixture.length });
  });

  it('status() reports completed while the file exists and result_lost after it is deleted', async () => {
    const { operation } = await sync().start(request(), ctx);
    const revived = JSON.parse(JSON.stringify(operation)) as ProviderOperation;
    const path = join(workDir, 'videos', `${ctx.jobId}.mp4`);
    expect(await sync().status(revived, ctx)).toEqual({ state: 'completed', providerStatus: 'COMPLETED', video: { kind: 'file', path, bytes: fixture.length } });
    // Even a provider configured for async answers a sync operation from disk.
    expect((await provider.status(revived, ctx)).state).toBe('completed');
    await rm(path);
    expect(await sync().status(revived, ctx)).toEqual({
      state: 'failed',
      providerStatus: 'LOST',
      error: { code: 'result_lost', message: 'the finished video was lost from local storage' },
    });
    expect(emu.requests).toHaveLength(1);
  });

  it('maps a JSON 406 from v1 to out_of_credits and leaves no file', async () => {
    emu.credits.segmind = 0;
    const err = await caught(sync().start(request(), ctx));
    expect(err).toMatchObject({ code: 'out_of_credits', status: 406, notCreated: true, message: 'Insufficient credits' });
    expect(await readdir(join(workDir, 'videos'))).toEqual([]);
  });

  it('maps a v1 401 and 400 to typed errors', async () => {
    expect(await caught(make({ mode: 'sync', apiKey: 'bad' }).start(request(), ctx))).toMatchObject({ code: 'bad_key', status: 401 });
    const bad = await caught(sync().start(request({ resolution: '1080p' }), ctx));
    expect(bad).toMatchObject({ code: 'provider_rejected', status: 400 });
    expect(bad.message).toContain('1080p');
  });

  it('maps a failed v1 render (500 JSON) to a retryable, possibly created error', async () => {
    emu.settings.failNext = 1;
    const err = await caught(sync().start(request(), ctx));
    expect(err).toMatchObject({ code: 'provider_unavailable', status: 500, notCreated: false, retryable: true });
    expect(err.message).toContain('sensitive content');
  });

  it('refuses a 200 that is not a video', async () => {
    emu.addFault({ method: 'POST', kind: 'status', status: 200, body: { status: 'ok' } });
    const err = await caught(sync().start(request(), ctx));
    expect(err).toMatchObject({ code: 'unexpected_response', status: 200 });
    expect(await readdir(join(workDir, 'videos'))).toEqual([]);
  });

  it('maps a reset during v1 to network, possibly created', async () => {
    emu.addFault({ method: 'POST', kind: 'reset' });
    const err = await caught(sync().start(request(), ctx));
    expect(err).toMatchObject({ code: 'network', notCreated: false });
  });

  it('leaves no partial file when the v1 connection drops mid-video', async () => {
    const srv = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(fixture.length) });
        res.write(fixture.subarray(0, 1000), () => res.destroy());
      });
    });
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = srv.address() as AddressInfo;
      const err = await caught(make({ mode: 'sync', baseUrl: `http://127.0.0.1:${port}` }).start(request(), ctx));
      expect(err).toMatchObject({ code: 'network', status: 0, notCreated: false, retryable: true });
      expect(await readdir(join(workDir, 'videos'))).toEqual([]);
    } finally {
      srv.closeAllConnections();
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    }
  });

  it('writes a slowly streamed MP4 intact', async () => {
    emu.addFault({ method: 'POST', kind: 'slowBody', ms: 2, chunkBytes: 512 });
    const { status } = await sync().start(request(), ctx);
    if (status?.state !== 'completed' || status.video.kind !== 'file') throw new Error('expected a file');
    expect((await readFile(status.video.path)).equals(fixture)).toBe(true);
    expect(await readdir(join(workDir, 'videos'))).toEqual([`${ctx.jobId}.mp4`]);
  });
});

describe('outputUrl', () => {
  it('takes a plain http(s) URL string', () => {
    expect(outputUrl('https://cdn.segmind.com/out/v.mp4')).toBe('https://cdn.segmind.com/out/v.mp4');
    expect(outputUrl('http://127.0.0.1:9/v.mp4')).toBe('http://127.0.0.1:9/v.mp4');
  });

  it('takes the first URL of an array', () => {
    expect(outputUrl(['', 'nope', 'https://a.example/1.mp4', 'https://a.example/2.mp4'])).toBe('https://a.example/1.mp4');
  });

  it('reads video_url, url, video and output keys, nested', () => {
    expect(outputUrl({ video_url: 'https://a.example/v.mp4' })).toBe('https://a.example/v.mp4');
    expect(outputUrl({ url: 'https://a.example/u.mp4' })).toBe('https://a.example/u.mp4');
    expect(outputUrl({ video: { url: 'https://a.example/n.mp4' } })).toBe('https://a.example/n.mp4');
    expect(outputUrl({ output: [{ video_url: 'https://a.example/deep.mp4' }] })).toBe('https://a.example/deep.mp4');
    expect(outputUrl({ video_url: 'nope', url: 'https://a.example/second.mp4' })).toBe('https://a.example/second.mp4');
  });

  it('refuses non-URLs and empty values', () => {
    for (const v of [undefined, null, '', 'v.mp4', 'ftp://a.example/v.mp4', 'data:video/mp4;base64,AAAA', 42, true, [], {}, { image: 'https://a.example/i.png' }]) {
      expect(outputUrl(v)).toBeUndefined();
    }
  });
});
