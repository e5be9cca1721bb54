import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  FIXTURE,
  RENDER_MS,
  SEGMIND_BODY,
  SEGMIND_SLUG,
  createSegmindV2,
  readJson,
  segmind,
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

const V1 = `/v1/${SEGMIND_SLUG}`;
const V2 = `/v2/${SEGMIND_SLUG}`;
const IMG = 'https://example.com/a.jpeg';

describe('Segmind: auth, validation, credits', () => {
  it('rejects a missing or wrong x-api-key with 401 {"error":"Invalid API key"}', async () => {
    for (const key of [null, 'nope']) {
      const res = await segmind(emu, V2, { body: SEGMIND_BODY, key });
      expect(res.status).toBe(401);
      expect(await readJson(res)).toEqual({ error: 'Invalid API key' });
    }
    expect(emu.jobs.size).toBe(0);
  });

  it('answers 404 for other model slugs', async () => {
    const res = await segmind(emu, '/v2/seedance-v1-pro-image-to-video', { body: SEGMIND_BODY });
    expect(res.status).toBe(404);
    expect(typeof (await readJson(res))['error']).toBe('string');
  });

  const invalid: [string, JsonObject][] = [
    ['missing prompt', { image_url: IMG }],
    ['empty prompt', { prompt: '', image_url: IMG }],
    ['duration 7', { ...SEGMIND_BODY, duration: 7 }],
    ['duration as a string', { ...SEGMIND_BODY, duration: '5' }],
    ['resolution 1080p', { ...SEGMIND_BODY, resolution: '1080p' }],
    ['resolution 360p', { ...SEGMIND_BODY, resolution: '360p' }],
    ['no image at all', { prompt: 'x' }],
    ['image_url with first_frame_url', { prompt: 'x', image_url: IMG, first_frame_url: IMG }],
    ['image_url with last_frame_url', { prompt: 'x', image_url: IMG, last_frame_url: IMG }],
    ['last_frame_url alone', { prompt: 'x', last_frame_url: IMG }],
    ['a non-URL image', { prompt: 'x', image_url: 'forest.jpeg' }],
    ['seed 0', { ...SEGMIND_BODY, seed: 0 }],
    ['seed 1000000', { ...SEGMIND_BODY, seed: 1_000_000 }],
    ['fractional seed', { ...SEGMIND_BODY, seed: 2.5 }],
    ['string camera_fixed', { ...SEGMIND_BODY, camera_fixed: 'false' }],
  ];
  it.each(invalid)('rejects %s with 400 {"error"}', async (_name, body) => {
    const res = await segmind(emu, V2, { body });
    expect(res.status).toBe(400);
    const json = await readJson(res);
    expect(Object.keys(json)).toEqual(['error']);
    expect((json['error'] as string).length).toBeGreaterThan(5);
    expect(emu.jobs.size).toBe(0);
  });

  it('accepts first_frame_url + last_frame_url, seed bounds and camera_fixed', async () => {
    const body = { prompt: 'x', first_frame_url: IMG, last_frame_url: IMG, seed: 999999, camera_fixed: true, duration: 10, resolution: '480p' };
    expect((await segmind(emu, V2, { body })).status).toBe(200);
    expect((await segmind(emu, V2, { body: { ...SEGMIND_BODY, seed: 1 } })).status).toBe(200);
    expect(emu.jobs.size).toBe(2);
  });

  it('reports x-remaining-credits, charges 1 per create and answers 406 when out of credits', async () => {
    const unlimited = await segmind(emu, V2, { body: SEGMIND_BODY });
    expect(unlimited.headers.get('x-remaining-credits')).toBe('1000');
    emu.credits.segmind = 2;
    const first = await segmind(emu, V2, { body: SEGMIND_BODY });
    expect(first.headers.get('x-remaining-credits')).toBe('1');
    await segmind(emu, V2, { body: SEGMIND_BODY });
    const broke = await segmind(emu, V2, { body: SEGMIND_BODY });
    expect(broke.status).toBe(406);
    expect(await readJson(broke)).toEqual({ error: 'Insufficient credits' });
    expect(emu.credits.segmind).toBe(0);
    expect(emu.jobs.size).toBe(3);
  });
});

describe('Segmind v1 (synchronous)', () => {
  it('answers with the MP4 bytes after the render', async () => {
    const res = await segmind(emu, V1, { body: SEGMIND_BODY });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('video/mp4');
    expect(res.headers.get('x-remaining-credits')).toBe('1000');
    expect(Buffer.from(await res.arrayBuffer()).equals(FIXTURE)).toBe(true);
    const [job] = [...emu.jobs.values()];
    expect(job).toMatchObject({ service: 'segmind', model: SEGMIND_SLUG, body: SEGMIND_BODY });
    expect(job?.firstCompletedSeenAt).toBeDefined();
  });

  it('answers 500 {"error"} for a failing job', async () => {
    emu.settings.failNext = 1;
    const res = await segmind(emu, V1, { body: SEGMIND_BODY });
    expect(res.status).toBe(500);
    expect(typeof (await readJson(res))['error']).toBe('string');
  });
});

describe('Segmind v2 (asynchronous)', () => {
  it('queues, reports QUEUED → PROCESSING → COMPLETED and serves the output', async () => {
    const created = await createSegmindV2(emu);
    const id = created['request_id'] as string;
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(created).toEqual({
      request_id: id,
      status: 'QUEUED',
      poll_url: `${emu.segmindUrl}/v1/requests/${id}`,
      status_url: `${emu.segmindUrl}/v2/requests/${id}/status`,
      response_url: `${emu.segmindUrl}/v2/requests/${id}`,
    });
    const status = async (): Promise<JsonObject> => readJson(await fetch(created['status_url'] as string, { headers: { 'x-api-key': 'test-segmind-key' } }));
    expect(await status()).toEqual({ status: 'QUEUED', request_id: id, metrics: {} });
    clock.advance(RENDER_MS / 2);
    expect(await status()).toEqual({ status: 'PROCESSING', request_id: id, metrics: {} });
    const pending = await readJson(await segmind(emu, `/v2/requests/${id}`));
    expect(pending['status']).toBe('PROCESSING');
    expect(pending['output']).toBeUndefined();
    expect(emu.jobs.get(id)?.firstCompletedSeenAt).toBeUndefined();
    clock.advance(RENDER_MS / 2);
    expect(await status()).toEqual({ status: 'COMPLETED', request_id: id, metrics: { inference_time: RENDER_MS / 1000 } });
    const seenAt = clock.t;
    clock.advance(10);
    const result = await readJson(await segmind(emu, `/v2/requests/${id}`));
    expect(result).toMatchObject({ status: 'COMPLETED', request_id: id, output: `${emu.segmindUrl}/outputs/${id}.mp4` });
    expect(emu.jobs.get(id)).toMatchObject({ statusPolls: 3, firstCompletedSeenAt: seenAt });
    const video = await fetch(result['output'] as string);
    expect(video.headers.get('content-type')).toBe('video/mp4');
    expect(Buffer.from(await video.arrayBuffer()).equals(FIXTURE)).toBe(true);
    expect(emu.count({ service: 'cdn' })).toBe(1);
  });

  it('answers HTTP 422 FAILED on status and result for a failing job', async () => {
    emu.settings.failNext = 1;
    const id = (await createSegmindV2(emu))['request_id'] as string;
    clock.advance(RENDER_MS);
    for (const path of [`/v2/requests/${id}/status`, `/v2/requests/${id}`]) {
      const res = await segmind(emu, path);
      expect(res.status).toBe(422);
      const json = await readJson(res);
      expect(json).toMatchObject({ status: 'FAILED', request_id: id });
      expect(typeof json['error']).toBe('string');
    }
    expect((await fetch(`${emu.segmindUrl}/outputs/${id}.mp4`)).status).toBe(404);
  });

  it('forgets results after segmindResultTtlMs and unknown ids are 404', async () => {
    const id = (await createSegmindV2(emu))['request_id'] as string;
    clock.advance(RENDER_MS + 3600_000);
    expect((await segmind(emu, `/v2/requests/${id}/status`)).status).toBe(200);
    expect((await fetch(`${emu.segmindUrl}/outputs/${id}.mp4`)).status).toBe(200);
    clock.advance(1);
    const gone = await segmind(emu, `/v2/requests/${id}/status`);
    expect(gone.status).toBe(404);
    expect(await readJson(gone)).toEqual({ error: 'Request not found' });
    expect((await segmind(emu, `/v2/requests/${id}`)).status).toBe(404);
    expect((await fetch(`${emu.segmindUrl}/outputs/${id}.mp4`)).status).toBe(403);
    expect((await segmind(emu, '/v2/requests/00000000-0000-4000-8000-000000000000/status')).status).toBe(404);
  });

  it('needs the key for request status', async () => {
    const id = (await createSegmindV2(emu))['request_id'] as string;
    expect((await segmind(emu, `/v2/requests/${id}/status`, { key: null })).status).toBe(401);
  });
});
