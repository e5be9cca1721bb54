import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AIML_CREATE,
  AIML_LEGACY,
  FIXTURE,
  RENDER_MS,
  aiml,
  createAiml,
  pollAiml,
  readJson,
  startTestBed,
} from './test-helpers.js';
import type { FakeClock, JsonObject } from './test-helpers.js';
import type { ProviderEmulator } from './provider-emulator.js';

let emu: ProviderEmulator;
let clock: FakeClock;

beforeEach(async () => {
  ({ emu, clock } = await startTestBed());
});
afterEach(async () => {
  await emu.close();
});

const LITE_T2V = 'bytedance/seedance-1-0-lite-t2v';
const LITE_I2V = 'bytedance/seedance-1-0-lite-i2v';
const PRO_T2V = 'bytedance/seedance-1-0-pro-t2v';
const PRO_I2V = 'bytedance/seedance-1-0-pro-i2v';
const IMG = 'https://example.com/mona.jpg';
const DATA_URI = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

describe('AIML API: create', () => {
  it('answers 200 {id, status: queued} on /v2/video/generations and records the job', async () => {
    const body = { model: LITE_T2V, prompt: 'a red fox', duration: '5', extra_field: 1 };
    const res = await aiml(emu, AIML_CREATE, { body });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const json = await readJson(res);
    expect(json['status']).toBe('queued');
    expect(json['id']).toMatch(/^cgt-\d{14}-[a-z0-9]{5}$/);
    const job = emu.jobs.get(json['id'] as string);
    expect(job).toMatchObject({ service: 'aimlapi', model: LITE_T2V, body, statusPolls: 0, outcome: 'success' });
    expect(job?.readyAt).toBe(clock.t + RENDER_MS);
  });

  it('answers 201 on the legacy path, and settings.createStatus overrides both', async () => {
    const body = { model: LITE_T2V, prompt: 'x' };
    expect((await aiml(emu, AIML_LEGACY, { body })).status).toBe(201);
    emu.settings.createStatus = 201;
    expect((await aiml(emu, AIML_CREATE, { body })).status).toBe(201);
    emu.settings.createStatus = 200;
    expect((await aiml(emu, AIML_LEGACY, { body })).status).toBe(200);
  });

  it('rejects a missing or wrong key with the 401 envelope', async () => {
    for (const key of [null, 'wrong-key']) {
      const res = await aiml(emu, AIML_CREATE, { body: { model: LITE_T2V, prompt: 'x' }, key });
      expect(res.status).toBe(401);
      const json = await readJson(res);
      expect(json).toMatchObject({ statusCode: 401, path: AIML_CREATE });
      expect(json['message']).toMatch(/^This request requires a valid API key\./);
      expect(json['requestId']).toBe(res.headers.get('x-request-id'));
      expect(new Date(json['timestamp'] as string).getTime()).toBe(clock.t);
    }
    expect(emu.jobs.size).toBe(0);
  });

  it('sends statusCode as a string when settings.statusCodeAsString', async () => {
    emu.settings.statusCodeAsString = true;
    const json = await readJson(await aiml(emu, AIML_CREATE, { body: { model: LITE_T2V, prompt: 'x' }, key: 'bad' }));
    expect(json['statusCode']).toBe('401');
  });

  const invalid: [string, JsonObject, string][] = [
    ['unknown model', { model: 'bytedance/seedance-9-9', prompt: 'x' }, 'model'],
    ['missing model', { prompt: 'x' }, 'model'],
    ['missing prompt', { model: LITE_T2V }, 'prompt'],
    ['empty prompt', { model: LITE_T2V, prompt: '  ' }, 'prompt'],
    ['numeric prompt', { model: LITE_T2V, prompt: 5 }, 'prompt'],
    ['bad resolution', { model: LITE_T2V, prompt: 'x', resolution: '2160p' }, 'resolution'],
    ['duration 7', { model: LITE_T2V, prompt: 'x', duration: 7 }, 'duration'],
    ['duration "7"', { model: LITE_T2V, prompt: 'x', duration: '7' }, 'duration'],
    ['duration 5.5', { model: LITE_T2V, prompt: 'x', duration: 5.5 }, 'duration'],
    ['bad aspect ratio', { model: PRO_T2V, prompt: 'x', aspect_ratio: '2:1' }, 'aspect_ratio'],
    ['aspect ratio on i2v', { model: LITE_I2V, prompt: 'x', image_url: IMG, aspect_ratio: '16:9' }, 'aspect_ratio'],
    ['i2v without image', { model: PRO_I2V, prompt: 'x' }, 'image_url'],
    ['ftp image url', { model: LITE_I2V, prompt: 'x', image_url: 'ftp://example.com/a.png' }, 'image_url'],
    ['not a url', { model: LITE_I2V, prompt: 'x', image_url: 'mona.jpg' }, 'image_url'],
    ['non-image data uri', { model: LITE_I2V, prompt: 'x', image_url: 'data:text/plain;base64,QUJD' }, 'image_url'],
    ['image on lite t2v', { model: LITE_T2V, prompt: 'x', image_url: IMG }, 'image_url'],
    ['last image on lite i2v', { model: LITE_I2V, prompt: 'x', image_url: IMG, last_image_url: IMG }, 'last_image_url'],
    ['fractional seed', { model: LITE_T2V, prompt: 'x', seed: 1.5 }, 'seed'],
    ['string watermark', { model: LITE_T2V, prompt: 'x', watermark: 'no' }, 'watermark'],
    ['string camerafixed', { model: LITE_T2V, prompt: 'x', camerafixed: 'true' }, 'camerafixed'],
    ['numeric camera_fixed', { model: LITE_T2V, prompt: 'x', camera_fixed: 1 }, 'camera_fixed'],
  ];
  it.each(invalid)('rejects %s with 400 "Body validation error!"', async (_name, body, field) => {
    emu.credits.aimlapi = 5;
    const res = await aiml(emu, AIML_CREATE, { body });
    expect(res.status).toBe(400);
    const json = await readJson(res);
    expect(json).toMatchObject({ statusCode: 400, message: 'Body validation error!' });
    expect((json['errors'] as { path: string }[]).map((e) => e.path)).toContain(field);
    expect(emu.jobs.size).toBe(0);
    expect(emu.credits.aimlapi).toBe(5);
  });

  it('rejects a body that is not JSON', async () => {
    const res = await aiml(emu, AIML_CREATE, { body: '{"model": ', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect((await readJson(res))['message']).toBe('Body validation error!');
  });

  const valid: [string, JsonObject][] = [
    ['string duration "10"', { model: LITE_T2V, prompt: 'x', duration: '10' }],
    ['integer duration 5 with every option', { model: LITE_T2V, prompt: 'x', duration: 5, resolution: '480p', aspect_ratio: '9:21', seed: 42, watermark: false, camerafixed: true }],
    ['lite i2v with a data URI', { model: LITE_I2V, prompt: 'x', image_url: DATA_URI, camera_fixed: true }],
    ['pro i2v with first and last image', { model: PRO_I2V, prompt: 'x', image_url: IMG, last_image_url: DATA_URI, resolution: '1080p' }],
    ['pro t2v with image_url and aspect_ratio', { model: PRO_T2V, prompt: 'x', image_url: IMG, aspect_ratio: '21:9' }],
  ];
  it.each(valid)('accepts %s', async (_name, body) => {
    const res = await aiml(emu, AIML_CREATE, { body });
    expect(res.status).toBe(200);
    expect(emu.jobs.size).toBe(1);
  });

  it('charges one credit per create and answers 403 out-of-credits at 0', async () => {
    emu.credits.aimlapi = 1;
    await createAiml(emu);
    expect(emu.credits.aimlapi).toBe(0);
    const res = await aiml(emu, AIML_CREATE, { body: { model: LITE_T2V, prompt: 'x' } });
    expect(res.status).toBe(403);
    expect((await readJson(res))['message']).toBe("You've run out of credits. Please top up your balance to continue.");
    expect(emu.jobs.size).toBe(1);
  });

  it('answers unknown routes with a 404 envelope', async () => {
    const res = await aiml(emu, '/v2/video/nothing');
    expect(res.status).toBe(404);
    expect(await readJson(res)).toMatchObject({ statusCode: 404, message: 'Cannot GET /v2/video/nothing' });
  });
});

describe('AIML API: poll', () => {
  it('goes queued → generating → completed with the clock, counting polls', async () => {
    const id = await createAiml(emu);
    expect(await pollAiml(emu, id)).toEqual({ id, status: 'queued' });
    clock.advance(RENDER_MS * 0.2);
    expect(await pollAiml(emu, id)).toEqual({ id, status: 'generating' });
    clock.advance(RENDER_MS * 0.8 - 1);
    expect((await pollAiml(emu, id))['status']).toBe('generating');
    expect(emu.jobs.get(id)?.firstCompletedSeenAt).toBeUndefined();
    clock.advance(1);
    const res = await aiml(emu, `${AIML_CREATE}?generation_id=${id}`);
    expect(res.headers.get('x-aimlapi-credits-used')).toBe('120000');
    const done = await readJson(res);
    expect(done).toMatchObject({ id, status: 'completed', meta: { usage: { credits_used: 120000 } } });
    expect((done['video'] as { url: string }).url).toMatch(new RegExp(`^${emu.aimlapiUrl}/cdn/${id}\\.mp4\\?`));
    const seenAt = clock.t;
    clock.advance(5000);
    await pollAiml(emu, id);
    expect(emu.jobs.get(id)).toMatchObject({ statusPolls: 5, firstCompletedSeenAt: seenAt });
  });

  it('answers on the legacy path too', async () => {
    const id = await createAiml(emu);
    clock.advance(RENDER_MS);
    expect((await pollAiml(emu, id, AIML_LEGACY))['status']).toBe('completed');
  });

  it('uses settings.pendingWords and settings.completedWord', async () => {
    emu.settings.pendingWords = ['waiting', 'active'];
    emu.settings.completedWord = 'succeeded';
    const id = await createAiml(emu);
    expect((await pollAiml(emu, id))['status']).toBe('waiting');
    clock.advance(RENDER_MS / 2);
    expect((await pollAiml(emu, id))['status']).toBe('active');
    clock.advance(RENDER_MS);
    const done = await pollAiml(emu, id);
    expect(done['status']).toBe('succeeded');
    expect(done['video']).toBeDefined();
  });

  it('ends settings.failNext jobs in error, then recovers', async () => {
    emu.settings.failNext = 1;
    const bad = await createAiml(emu);
    const good = await createAiml(emu);
    expect(emu.settings.failNext).toBe(0);
    clock.advance(RENDER_MS * 0.5);
    expect((await pollAiml(emu, bad))['status']).toBe('generating');
    clock.advance(RENDER_MS);
    const failed = await pollAiml(emu, bad);
    expect(failed).toEqual({
      id: bad,
      status: 'error',
      error: { name: 'GenerationError', message: 'Output video may contain sensitive content' },
    });
    expect(emu.jobs.get(bad)?.firstCompletedSeenAt).toBe(clock.t);
    expect((await pollAiml(emu, good))['status']).toBe('completed');
  });

  it('answers 404 for an unknown id, 400 without generation_id, 401 without key', async () => {
    const unknown = await aiml(emu, `${AIML_CREATE}?generation_id=cgt-nope`);
    expect(unknown.status).toBe(404);
    expect((await readJson(unknown))['statusCode']).toBe(404);
    expect((await aiml(emu, AIML_CREATE)).status).toBe(400);
    const id = await createAiml(emu);
    expect((await aiml(emu, `${AIML_CREATE}?generation_id=${id}`, { key: null })).status).toBe(401);
    expect(emu.jobs.get(id)?.statusPolls).toBe(0);
  });
});

describe('AIML API: signed video URL', () => {
  async function finishedUrl(): Promise<string> {
    const id = await createAiml(emu);
    clock.advance(RENDER_MS);
    return ((await pollAiml(emu, id))['video'] as { url: string }).url;
  }

  it('serves the video bytes with video/mp4 and a TOS-style signed query', async () => {
    const readyAt = clock.t + RENDER_MS;
    const url = new URL(await finishedUrl());
    expect(url.searchParams.get('X-Tos-Algorithm')).toBe('TOS4-HMAC-SHA256');
    expect(url.searchParams.get('X-Tos-Date')).toBe(new Date(readyAt).toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, ''));
    expect(url.searchParams.get('X-Tos-Expires')).toBe('86400');
    expect(url.searchParams.get('X-Tos-Signature')).toMatch(/^[0-9a-f]{64}$/);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('video/mp4');
    expect(res.headers.get('content-length')).toBe(String(FIXTURE.length));
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.equals(FIXTURE)).toBe(true);
    expect(bytes.subarray(4, 8).toString('latin1')).toBe('ftyp');
    expect(emu.count({ service: 'cdn', method: 'GET' })).toBe(1);
  });

  it('answers 403 XML for a tampered signature', async () => {
    const url = new URL(await finishedUrl());
    url.searchParams.set('X-Tos-Expires', '999999');
    const res = await fetch(url);
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toContain('xml');
    expect(await res.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
  });

  it('answers 403 AccessDenied once the URL has expired', async () => {
    const url = await finishedUrl();
    clock.advance(24 * 3600 * 1000);
    expect((await fetch(url)).status).toBe(200);
    clock.advance(1);
    const res = await fetch(url);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('<Code>AccessDenied</Code>');
  });
});

describe('custom options', () => {
  it('honours keys, renderMs per job, queuedFraction, videoBytes and videoUrlTtlMs', async () => {
    await emu.close();
    ({ emu, clock } = await startTestBed({
      aimlapiKeys: ['k1', 'k2'],
      renderMs: (job) => (job.body['duration'] === 10 ? 2000 : 1000),
      queuedFraction: 0.5,
      videoBytes: Buffer.from('not really a video'),
      videoUrlTtlMs: 60_000,
    }));
    const res = await aiml(emu, AIML_CREATE, { key: 'k2', body: { model: LITE_T2V, prompt: 'x', duration: 10 } });
    const { id } = (await res.json()) as { id: string };
    expect(emu.jobs.get(id)?.readyAt).toBe(clock.t + 2000);
    clock.advance(999);
    expect((await readJson(await aiml(emu, `${AIML_CREATE}?generation_id=${id}`, { key: 'k1' })))['status']).toBe('queued');
    clock.advance(1001);
    const done = await readJson(await aiml(emu, `${AIML_CREATE}?generation_id=${id}`, { key: 'k1' }));
    const url = (done['video'] as { url: string }).url;
    expect(new URL(url).searchParams.get('X-Tos-Expires')).toBe('60');
    expect(await (await fetch(url)).text()).toBe('not really a video');
    expect((await aiml(emu, AIML_CREATE, { body: { model: LITE_T2V, prompt: 'x' } })).status).toBe(401);
  });
});
