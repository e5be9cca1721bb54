import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AIMLAPI_SPECS_DIR_ENV,
  FIXTURE_AIMLAPI_SPECS_DIR,
  aimlapiSpecsDir,
  loadAimlSchemas,
  readAimlSchemas,
} from './aimlapi-schemas.js';
import { AIML_CREATE, FIXTURE, RENDER_MS, aiml, pollAiml, readJson, startTestBed } from './test-helpers.js';
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

const PRO_FAST = 'bytedance/seedance-1-0-pro-fast';
const PRO_15 = 'bytedance/seedance-1-5-pro';
const S20 = 'bytedance/seedance-2-0';
const S20_FAST = 'bytedance/seedance-2-0-fast';
const MINI_20 = 'bytedance/dreamina-seedance-2-0-mini';
const S25 = 'bytedance/seedance-2-5';
const DREAMINA_25 = 'bytedance/dreamina-seedance-2-5';
const NEW_MODELS = [PRO_FAST, PRO_15, S20, S20_FAST, MINI_20, S25, DREAMINA_25];
const OLD_MODELS = ['lite-t2v', 'lite-i2v', 'pro-t2v', 'pro-i2v'].map((m) => `bytedance/seedance-1-0-${m}`);

const IMG = 'https://example.com/first.jpg';
const LAST = 'https://example.com/last.png';
const PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const MP3 = 'data:audio/mpeg;base64,SUQzBAAAAAAAI1RTU0UAAAAPAAADTGF2ZjU4Ljc2LjEwMAAAAAAAAAAAAAAA';
const refs = (n: number, kind = 'ref', ext = 'jpg'): string[] =>
  Array.from({ length: n }, (_, i) => `https://example.com/${kind}${i + 1}.${ext}`);

describe('AIML schemas: loading', () => {
  it('indexes the in-repo copies by model name: 4 Seedance 1.0 models and the 7 newer ones', () => {
    const index = loadAimlSchemas();
    expect(index.dir).toBe(aimlapiSpecsDir());
    expect([...index.models.keys()].sort()).toEqual([...OLD_MODELS, ...NEW_MODELS].sort());
    expect(index.models.get(S20)?.schema.required).toEqual(['model', 'prompt']);
    expect(index.models.get(S25)?.schema.properties['duration']?.enum).toHaveLength(27);
  });

  describe('from another directory', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'aiml-specs-'));
    });
    afterEach(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const copy = (name: string, edit: (text: string) => string = (t) => t): void =>
      writeFileSync(join(dir, name), edit(readFileSync(join(FIXTURE_AIMLAPI_SPECS_DIR, name), 'utf8')));

    it('serves only the models found there (EmulatorOptions.aimlapiSpecsDir, or the environment variable)', async () => {
      copy('seedance-2.5.json');
      await emu.close();
      ({ emu, clock } = await startTestBed({ aimlapiSpecsDir: dir }));
      expect((await aiml(emu, AIML_CREATE, { body: { model: S25, prompt: 'x', duration: 30 } })).status).toBe(200);
      const res = await aiml(emu, AIML_CREATE, { body: { model: OLD_MODELS[0], prompt: 'x' } });
      expect(res.status).toBe(400);
      expect(await readJson(res)).toMatchObject({ errors: [{ path: 'model', message: `Invalid model. Expected one of ${S25}` }] });
      const saved = process.env[AIMLAPI_SPECS_DIR_ENV];
      process.env[AIMLAPI_SPECS_DIR_ENV] = dir;
      try {
        expect(aimlapiSpecsDir()).toBe(dir);
        expect([...loadAimlSchemas().models.keys()]).toEqual([S25]);
      } finally {
        if (saved === undefined) delete process.env[AIMLAPI_SPECS_DIR_ENV];
        else process.env[AIMLAPI_SPECS_DIR_ENV] = saved;
      }
    });

    it('refuses a schema keyword it would not check, and two files for one model', () => {
      copy('seedance-2-0.json', (t) => t.replace('"type": "integer",', '"type": "integer", "minimum": 0,'));
      expect(() => readAimlSchemas(dir)).toThrow(/seedance-2-0\.json: properties\.\w+: unsupported keyword minimum/);
      copy('seedance-2-0.json');
      writeFileSync(join(dir, 'again.json'), readFileSync(join(dir, 'seedance-2-0.json')));
      expect(() => readAimlSchemas(dir)).toThrow(/both describe bytedance\/seedance-2-0/);
    });
  });
});

describe('AIML schemas: the newer models', () => {
  const valid: [string, JsonObject][] = [
    [PRO_FAST, { image_url: IMG, last_image_url: LAST, resolution: '1080p', duration: 10, camerafixed: true, watermark: false, seed: 7 }],
    [PRO_15, { image_url: PNG, aspect_ratio: 'adaptive', camera_fixed: true, generate_audio: true, duration: 12, resolution: '1080p', seed: -1 }],
    [S20, { resolution: '4k', image_urls: refs(9), video_urls: refs(3, 'clip', 'mp4'), audio_urls: [MP3], generate_audio: false, duration: 15, aspect_ratio: '21:9', watermark: true, provider: 'fal' }],
    [S20_FAST, { image_url: IMG, last_image_url: LAST, resolution: '720p', duration: 4, generate_audio: true, seed: 3, provider: 'auto' }],
    [MINI_20, { image_url: IMG, video_url: 'https://example.com/clip.mov', audio_url: 'https://example.com/voice.wav', duration: '5', watermark: false }],
    [S25, { duration: 30, image_urls: [PNG, IMG], audio_urls: refs(3, 'a', 'mp3'), resolution: '480p', aspect_ratio: '9:16' }],
    [DREAMINA_25, { duration: 30, image_url: IMG, image_urls: [LAST], audio_url: MP3, generate_audio: true, provider: 'bytedance' }],
  ];
  it.each(valid)('accepts %s with its own fields, and records the body exactly as sent', async (model, fields) => {
    const body = { model, prompt: 'a hedgehog on a skateboard, @Image1', ...fields };
    const res = await aiml(emu, AIML_CREATE, { body });
    expect(res.status, await res.clone().text()).toBe(200);
    const { id } = (await res.json()) as { id: string };
    expect(emu.bodies({ service: 'aimlapi', kind: 'create' })).toEqual([body]);
    expect(emu.jobs.get(id)).toMatchObject({ model, body });
  });

  const invalid: [string, JsonObject, string][] = [
    ['camerafixed on 1.5 pro (it spells camera_fixed)', { model: PRO_15, camerafixed: true }, 'camerafixed'],
    ['camera_fixed on 2.0 (no fixed camera)', { model: S20, camera_fixed: true }, 'camera_fixed'],
    ['watermark on 2.0 fast (its schema lacks it)', { model: S20_FAST, watermark: false }, 'watermark'],
    ['aspect_ratio on 1.0 pro fast', { model: PRO_FAST, aspect_ratio: '16:9' }, 'aspect_ratio'],
    ['audio_url on 2.0 fast (only audio_urls)', { model: S20_FAST, audio_url: MP3, image_urls: [IMG] }, 'audio_url'],
    ['an unknown field on 2.5', { model: S25, extra_field: 1 }, 'extra_field'],
    ['generate_audio on Seedance 1.0 (a field other models take)', { model: OLD_MODELS[0]!, generate_audio: true }, 'generate_audio'],
    ['1080p on 2.0 fast', { model: S20_FAST, resolution: '1080p' }, 'resolution'],
    ['4k on 2.5', { model: S25, resolution: '4k' }, 'resolution'],
    ['9:21 on 2.0', { model: S20, aspect_ratio: '9:21' }, 'aspect_ratio'],
    ['duration 31 on 2.5', { model: S25, duration: 31 }, 'duration'],
    ['duration "31" on dreamina 2.5', { model: DREAMINA_25, duration: '31' }, 'duration'],
    ['duration 16 on 2.0', { model: S20, duration: 16 }, 'duration'],
    ['duration 13 on 1.5 pro', { model: PRO_15, duration: 13 }, 'duration'],
    ['duration 3 on 1.5 pro', { model: PRO_15, duration: 3 }, 'duration'],
    ['duration 4 on 1.0 pro fast', { model: PRO_FAST, duration: 4 }, 'duration'],
    ['10 image_urls', { model: S20, image_urls: refs(10) }, 'image_urls'],
    ['an empty image_urls', { model: S20, image_urls: [] }, 'image_urls'],
    ['4 video_urls', { model: S25, video_urls: refs(4, 'v', 'mp4') }, 'video_urls'],
    ['image_urls as a string', { model: S20, image_urls: IMG }, 'image_urls'],
    ['a reference that is not a URL', { model: S20, image_urls: [IMG, 'ref.jpg'] }, 'image_urls.1'],
    ['an image data URI as audio', { model: S20, image_urls: [IMG], audio_urls: [PNG] }, 'audio_urls.0'],
    ['audio_urls without reference images or videos', { model: S20, audio_urls: [MP3] }, 'audio_urls'],
    ['audio_urls with only a first frame', { model: S25, image_url: IMG, audio_urls: [MP3] }, 'audio_urls'],
    ['audio_url without references', { model: MINI_20, audio_url: MP3 }, 'audio_url'],
    ['last_image_url without image_url', { model: S20_FAST, last_image_url: LAST }, 'last_image_url'],
    ['generate_audio as a string', { model: PRO_15, generate_audio: 'false' }, 'generate_audio'],
    ['seed as a string', { model: S20, seed: '42' }, 'seed'],
    ['provider as a number', { model: S20, provider: 1 }, 'provider'],
    ['an empty prompt', { model: S25, prompt: ' ' }, 'prompt'],
  ];
  it.each(invalid)('refuses %s with 400 "Body validation error!" naming the field', async (_name, fields, field) => {
    emu.credits.aimlapi = 5;
    const body = { prompt: 'x', ...fields };
    const res = await aiml(emu, AIML_CREATE, { body });
    expect(res.status).toBe(400);
    const json = await readJson(res);
    expect(json).toMatchObject({ statusCode: 400, message: 'Body validation error!', path: AIML_CREATE });
    expect((json['errors'] as { path: string }[]).map((e) => e.path)).toContain(field);
    expect(emu.jobs.size).toBe(0);
    expect(emu.credits.aimlapi).toBe(5);
    expect(emu.bodies({ kind: 'create' })).toEqual([body]);
  });

  it('reports every problem of a body at once', async () => {
    const body = { model: S20_FAST, prompt: 'x', watermark: true, resolution: '4k', duration: 20, image_urls: refs(10) };
    const json = await readJson(await aiml(emu, AIML_CREATE, { body }));
    expect((json['errors'] as { path: string }[]).map((e) => e.path).sort()).toEqual(['duration', 'image_urls', 'resolution', 'watermark']);
  });

  it.each(NEW_MODELS)('completes a %s job and serves its video from the CDN', async (model) => {
    const body = { model, prompt: 'x', ...(model === PRO_FAST ? { image_url: IMG } : { duration: 5 }) };
    const res = await aiml(emu, AIML_CREATE, { body });
    expect(res.status).toBe(200);
    const { id } = (await res.json()) as { id: string };
    clock.advance(RENDER_MS);
    const done = await pollAiml(emu, id);
    expect(done).toMatchObject({ id, status: 'completed' });
    const video = await fetch((done['video'] as { url: string }).url);
    expect(video.status).toBe(200);
    expect(Buffer.from(await video.arrayBuffer()).equals(FIXTURE)).toBe(true);
  });
});
