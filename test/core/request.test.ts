import { describe, expect, it } from 'vitest';
import { createCatalogue } from '../../src/core/catalogue.js';
import { BUILTIN_MODELS } from '../../src/providers/index.js';
import { ValidationError } from '../../src/core/errors.js';
import type { GenerationInput } from '../../src/core/request.js';
import { createRequestValidator, inputFromRequest } from '../../src/core/request.js';
import { png } from './fixtures.js';

const defaults = { model: 'lite', resolution: '720p' as const, duration: 5 };
const both = createCatalogue(BUILTIN_MODELS, { providers: ['aimlapi', 'segmind'], preference: ['aimlapi', 'segmind'] });
const segmindFirst = createCatalogue(BUILTIN_MODELS, { providers: ['aimlapi', 'segmind'], preference: ['segmind', 'aimlapi'] });
const segmindOnly = createCatalogue(BUILTIN_MODELS, { providers: ['segmind'] });
const aimlOnly = createCatalogue(BUILTIN_MODELS, { providers: ['aimlapi'] });
const image = { kind: 'bytes' as const, data: png(640, 480) };

function problems(cat: typeof both, input: GenerationInput): string[] {
  try {
    createRequestValidator(cat, defaults).parse(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    const e = err as ValidationError;
    return e.details.length ? [...e.details] : [e.message];
  }
  throw new Error('expected a validation error');
}

describe('request validation', () => {
  it('picks t2v or i2v from whether an image is given, with defaults filled in', () => {
    const v = createRequestValidator(both, defaults, () => 0.5);
    const t2v = v.parse({ prompt: '  a fox running through snow ' });
    expect(t2v).toMatchObject({ modelId: 'aimlapi/seedance-1-0-lite-t2v', prompt: 'a fox running through snow', resolution: '720p', duration: 5, aspectRatio: '16:9', fixedCamera: false, watermark: false, audio: false });
    expect(t2v.seed).toBe(1 + Math.floor(0.5 * 999_999));
    const i2v = v.parse({ prompt: 'wave', model: 'pro', image });
    expect(i2v.modelId).toBe('aimlapi/seedance-1-0-pro-i2v');
    expect(i2v.aspectRatio).toBeUndefined();
    // The bytes stay bytes until the job is created (then they are written to DATA_DIR once).
    expect(i2v.image?.data).toBeInstanceOf(Uint8Array);
    expect(i2v.image?.url).toBeUndefined();
    expect(i2v.image).toMatchObject({ width: 640, height: 480, mime: 'image/png' });
  });

  it('routes lite image-to-video to the preferred provider', () => {
    const v = createRequestValidator(segmindFirst, defaults);
    expect(v.parse({ prompt: 'x', image }).modelId).toBe('segmind/seedance-v1-lite-image-to-video');
    expect(v.parse({ prompt: 'x' }).modelId).toBe('aimlapi/seedance-1-0-lite-t2v');
  });

  it('accepts loose chat/CLI spellings: "10s", "1080", numeric strings', () => {
    const v = createRequestValidator(both, defaults);
    expect(v.parse({ prompt: 'x', duration: '10s', resolution: '1080', seed: '42' })).toMatchObject({ duration: 10, resolution: '1080p', seed: 42 });
  });

  it.each([
    [{ prompt: 'x', image, aspectRatio: '9:16' }, 'aspect ratio is decided by the image when you give a first frame'],
    [{ prompt: 'x', lastFrame: image }, 'a last frame needs a first frame'],
    [{ prompt: '   ' }, 'a prompt is required'],
    [{ prompt: 'x', duration: 7 }, 'lite makes 5 or 10 s clips'],
    [{ prompt: 'x', model: '2.5', duration: 31 }, '2.5 makes 4 to 30 s clips'],
    [{ prompt: 'x', model: '1.5-pro', duration: '13s' }, '1.5-pro makes 4 to 12 s clips'],
    [{ prompt: 'x', resolution: '4k' }, 'lite renders at most 1080p'],
    [{ prompt: 'x', model: '2.0-fast', resolution: '1080p' }, '2.0-fast renders at most 720p'],
    [{ prompt: 'x', resolution: '8k' }, 'resolution must be 480p, 720p or 1080p'],
    [{ prompt: 'x', aspectRatio: '2:1' }, 'aspect ratio must be 16:9, 4:3, 1:1, 3:4, 9:16, 21:9 or 9:21 with lite'],
    [{ prompt: 'x', model: 'ultra' }, 'unknown model "ultra"; choose lite, pro, pro-fast, 1.5-pro, 2.0, 2.0-fast, 2.0-mini, 2.5 or 2.5-dreamina'],
    [{ prompt: 'x', seed: 'abc' }, 'seed must be 0..4294967295 on AIML API'],
    [{ prompt: 'x', image, lastFrame: image }, 'a last frame works only with pro, pro-fast, 1.5-pro, 2.0, 2.0-fast, 2.0-mini, 2.5, 2.5-dreamina on AIML API or lite on Segmind'],
  ])('rejects %j with a specific message', (input, message) => {
    expect(problems(both, input as GenerationInput)).toContain(message);
  });

  it('knows Segmind limits', () => {
    expect(problems(segmindOnly, { prompt: 'x', image, resolution: '1080p' })).toContain('Segmind renders at most 720p with lite');
    expect(problems(segmindOnly, { prompt: 'x', image, seed: 0 })).toContain('seed must be 1..999999 on Segmind');
    expect(problems(segmindOnly, { prompt: 'x', image, watermark: true })).toContain("a watermark isn't available with lite on Segmind");
    expect(problems(segmindOnly, { prompt: 'x' })).toContain("lite text-to-video needs an AIML API key, which this bot doesn't have");
    // Segmind's lite takes a last frame; AIML's lite does not.
    const v = createRequestValidator(segmindOnly, defaults);
    expect(v.parse({ prompt: 'x', image, lastFrame: image }).lastFrame).toBeDefined();
    expect(problems(aimlOnly, { prompt: 'x', image, lastFrame: image })).toContain('a last frame works only with pro, pro-fast, 1.5-pro, 2.0, 2.0-fast, 2.0-mini, 2.5, 2.5-dreamina on AIML API');
  });

  it('falls back to the best resolution a model has when the default is above it', () => {
    const v = createRequestValidator(segmindOnly, { ...defaults, resolution: '1080p' });
    expect(v.parse({ prompt: 'x', image }).resolution).toBe('720p');
  });

  it('reports every problem at once', () => {
    const all = problems(both, { prompt: '', lastFrame: image, duration: 3, seed: -1 });
    expect(all).toEqual(expect.arrayContaining(['a prompt is required', 'a last frame needs a first frame', 'lite makes 5 or 10 s clips', 'seed must be 0..4294967295 on AIML API']));
  });

  it('checks images before anything is spent', () => {
    expect(problems(both, { prompt: 'x', image: { kind: 'bytes', data: png(200, 200) } })).toContain('first frame: the image is 200x200 px; each side must be 300–6000 px');
    expect(problems(both, { prompt: 'x', image: { kind: 'bytes', data: new TextEncoder().encode('<svg/>') } })).toContain(
      "the first frame isn't a supported image; use JPEG, PNG, WebP, BMP, TIFF or GIF",
    );
    expect(problems(both, { prompt: 'x', image: { kind: 'url', url: 'ftp://x/y.png' } })).toContain('the first frame must be an image file or an http(s) link');
    // Declared facts of a platform attachment are checked without downloading it.
    expect(problems(both, { prompt: 'x', image: { kind: 'url', url: 'https://cdn.example/a.png', mime: 'image/png', width: 3000, height: 500 } })).toEqual([
      "first frame: the image's aspect ratio is 6.00 (width/height); it must be between 0.4 and 2.5",
    ]);
    const ok = createRequestValidator(both, defaults).parse({ prompt: 'x', image: { kind: 'url', url: 'https://cdn.example/a.png', mime: 'image/png', width: 1024, height: 768, bytes: 1000 } });
    expect(ok.image).toEqual({ url: 'https://cdn.example/a.png', mime: 'image/png', bytes: 1000, width: 1024, height: 768 });
  });

  it('limits prompt length', () => {
    expect(problems(both, { prompt: 'a'.repeat(2001) })).toEqual(['the prompt is 2001 characters; at most 2000 fit']);
  });
});

describe('catalogue', () => {
  it('derives option lists from the models it can use', () => {
    expect(both.aliases()).toEqual(['lite', 'pro', 'pro-fast', '1.5-pro', '2.0', '2.0-fast', '2.0-mini', '2.5', '2.5-dreamina']);
    expect(both.allResolutions()).toEqual(['480p', '720p', '1080p', '4k']);
    expect(both.allDurations()).toEqual(Array.from({ length: 27 }, (_, i) => i + 4));
    expect(both.durationBounds()).toEqual({ min: 4, max: 30 });
    expect(both.maxReferenceImages()).toBe(9);
    expect(segmindOnly.durationBounds()).toEqual({ min: 5, max: 10 });
    expect(segmindOnly.anyAudio()).toBe(false);
    expect(segmindOnly.allResolutions()).toEqual(['480p', '720p']);
    expect(segmindOnly.models.map((m) => m.id)).toEqual(['segmind/seedance-v1-lite-image-to-video']);
  });
  it('takes new models as data', () => {
    const fast = { ...BUILTIN_MODELS[2]!, id: 'aimlapi/seedance-9-0', providerModel: 'bytedance/seedance-9-0', alias: 'fast', label: 'Seedance 9' };
    const cat = createCatalogue([...BUILTIN_MODELS, fast], { providers: ['aimlapi'] });
    const v = createRequestValidator(cat, defaults);
    expect(cat.aliases()).toContain('fast');
    expect(v.parse({ prompt: 'x', model: 'fast' }).modelId).toBe('aimlapi/seedance-9-0');
  });
});

describe('inputFromRequest', () => {
  const v = createRequestValidator(both, defaults, () => 0.9);
  it('rebuilds an equivalent request with a new seed, or the same one when asked', () => {
    const original = v.parse({ prompt: 'waves', model: 'pro', image: { kind: 'url', url: 'https://cdn.example/a.png', mime: 'image/png', width: 1024, height: 768, bytes: 1000 }, duration: 10, fixedCamera: true, seed: 7 });
    const again = v.parse(inputFromRequest(original, 'pro')!);
    expect({ ...again, seed: 0 }).toEqual({ ...original, seed: 0 });
    expect(again.seed).not.toBe(7);
    expect(v.parse(inputFromRequest(original, 'pro', { keepSeed: true, prompt: 'storm' })!)).toEqual({ ...original, prompt: 'storm' });
  });
  it('cannot rebuild a request whose image was sent inline (it is kept only while its job runs)', () => {
    const original = v.parse({ prompt: 'x', image });
    const { data: _data, ...facts } = original.image!;
    expect(inputFromRequest({ ...original, image: { ...facts, file: 'images/x-first.png' } }, 'lite')).toBeUndefined();
  });
});
