/**
 * Validation of the Seedance 1.0 pro fast, 1.5 and 2.x entries: each option is
 * checked against what the model's schema takes, with a specific message, before
 * anything is sent; and the AIML body names each option as that schema does.
 */
import { describe, expect, it } from 'vitest';
import { createCatalogue } from '../../src/core/catalogue.js';
import { ValidationError } from '../../src/core/errors.js';
import type { GenerationInput, ImageInput } from '../../src/core/request.js';
import { createRequestValidator } from '../../src/core/request.js';
import { buildAimlapiBody } from '../../src/providers/aimlapi/aimlapi-provider.js';
import { BUILTIN_MODELS } from '../../src/providers/index.js';
import { png } from './fixtures.js';

const defaults = { model: 'lite', resolution: '720p' as const, duration: 5 };
const cat = createCatalogue(BUILTIN_MODELS, { providers: ['aimlapi', 'segmind'], preference: ['aimlapi', 'segmind'] });
const v = createRequestValidator(cat, defaults, () => 0.25);
const image: ImageInput = { kind: 'bytes', data: png(640, 480) };
const link = (n: number): ImageInput => ({ kind: 'url', url: `https://cdn.example/ref-${n}.png`, mime: 'image/png', width: 800, height: 600, bytes: 5000 });

function problems(input: GenerationInput): string[] {
  try {
    v.parse(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    const e = err as ValidationError;
    return e.details.length ? [...e.details] : [e.message];
  }
  throw new Error('expected a validation error');
}

/** The AIML create body for an input, with prepared images standing in for their links. */
function body(input: GenerationInput): Record<string, unknown> {
  const req = v.parse(input);
  const spec = cat.byId(req.modelId)!;
  const url = (i: { url?: string } | undefined) => (i ? { url: i.url ?? 'data:image/png;base64,AAAA' } : undefined);
  return buildAimlapiBody({ ...req, model: spec, image: url(req.image), lastFrame: url(req.lastFrame), references: req.references?.map((r) => url(r)!) });
}

describe('new models: what each accepts', () => {
  it('one model serves text and image for 1.0 pro fast, 1.5 and 2.x', () => {
    for (const alias of ['pro-fast', '1.5-pro', '2.0', '2.0-fast', '2.0-mini', '2.5', '2.5-dreamina']) {
      const t = v.parse({ prompt: 'x', model: alias });
      const i = v.parse({ prompt: 'x', model: alias, image });
      expect(t.modelId).toBe(i.modelId);
    }
  });

  it('sound is on by default where the model makes it, off where asked, refused where it makes none', () => {
    expect(v.parse({ prompt: 'x', model: '2.0' }).audio).toBe(true);
    expect(v.parse({ prompt: 'x', model: '1.5-pro', audio: false }).audio).toBe(false);
    expect(v.parse({ prompt: 'x', model: 'lite' }).audio).toBe(false);
    expect(problems({ prompt: 'x', model: 'lite', audio: true })).toEqual(['lite makes no sound; 1.5-pro, 2.0, 2.0-fast, 2.0-mini, 2.5 or 2.5-dreamina do']);
    // Turning sound off on a silent model is no problem.
    expect(v.parse({ prompt: 'x', model: 'pro', audio: false }).audio).toBe(false);
  });

  it.each<[GenerationInput, string]>([
    [{ prompt: 'x', model: '2.0-fast', resolution: '1080p' }, '2.0-fast renders at most 720p'],
    [{ prompt: 'x', model: '2.5', resolution: '4k' }, '2.5 renders at most 720p'],
    [{ prompt: 'x', model: 'pro', resolution: '4k' }, 'pro renders at most 1080p'],
    [{ prompt: 'x', model: '2.5', duration: 31 }, '2.5 makes 4 to 30 s clips'],
    [{ prompt: 'x', model: '2.0', duration: 16 }, '2.0 makes 4 to 15 s clips'],
    [{ prompt: 'x', model: '2.0', duration: 3 }, '2.0 makes 4 to 15 s clips'],
    [{ prompt: 'x', model: 'pro-fast', duration: 7 }, 'pro-fast makes 5 or 10 s clips'],
    [{ prompt: 'x', model: 'pro-fast', aspectRatio: '16:9' }, 'pro-fast takes no aspect ratio (give a first frame to set the shape)'],
    [{ prompt: 'x', model: '2.0', aspectRatio: 'adaptive' }, 'aspect ratio must be 16:9, 4:3, 1:1, 3:4, 9:16 or 21:9 with 2.0'],
    [{ prompt: 'x', model: '2.0', aspectRatio: '9:21' }, 'aspect ratio must be 16:9, 4:3, 1:1, 3:4, 9:16 or 21:9 with 2.0'],
    [{ prompt: 'x', model: '2.0', fixedCamera: true }, "a fixed camera isn't available with 2.0"],
    [{ prompt: 'x', model: '2.0-fast', watermark: true }, "a watermark isn't available with 2.0-fast"],
    [{ prompt: 'x', model: '2.0', references: Array.from({ length: 10 }, (_, i) => link(i)) }, 'at most 9 reference images fit with 2.0; you gave 10'],
    [{ prompt: 'x', model: '1.5-pro', references: [link(1)] }, '1.5-pro takes no reference images; 2.0, 2.0-fast, 2.0-mini, 2.5 or 2.5-dreamina do'],
    [{ prompt: 'x', model: 'lite', references: [link(1)] }, 'lite takes no reference images; 2.0, 2.0-fast, 2.0-mini, 2.5 or 2.5-dreamina do'],
    [{ prompt: 'x', model: '2.0', image, references: [link(1)] }, 'reference images and videos replace the first and last frame; give one or the other'],
    [{ prompt: 'x', model: '2.0', referenceAudios: ['https://cdn.example/a.mp3'] }, 'a reference sound file needs a reference image or video with it'],
    [{ prompt: 'x', model: '2.0', referenceVideos: ['https://a.example/1.mp4', 'https://a.example/2.mp4', 'https://a.example/3.mp4', 'https://a.example/4.mp4'] }, 'at most 3 reference videos fit with 2.0; you gave 4'],
    [{ prompt: 'x', model: '2.0', referenceVideos: ['file:///etc/passwd'] }, 'a reference video must be an http(s) link to an MP4 or MOV file'],
    [{ prompt: 'the cat from @Image1 meets @Image3', model: '2.0', references: [link(1), link(2)] }, 'the prompt names @Image3, but only 2 reference images were given'],
    [{ prompt: 'dance like @Video1', model: '2.0' }, 'the prompt names @Video1, but no reference video was given'],
  ])('refuses %j: %s', (input, message) => {
    expect(problems(input)).toContain(message);
  });

  it('checks every reference image like a first frame', () => {
    expect(problems({ prompt: 'x', model: '2.0', references: [link(1), { kind: 'bytes', data: png(100, 100) }] })).toEqual([
      'reference image 2: the image is 100x100 px; each side must be 300–6000 px',
    ]);
  });

  it('accepts the loose spellings of 4k and seconds', () => {
    expect(v.parse({ prompt: 'x', model: '2.0', resolution: '2160p', duration: '15s' })).toMatchObject({ resolution: '4k', duration: 15 });
    expect(v.parse({ prompt: 'x', model: '2.0', resolution: '4K' }).resolution).toBe('4k');
  });

  it('1.5 takes an adaptive ratio, and uses it when a first frame decides the shape', () => {
    expect(v.parse({ prompt: 'x', model: '1.5-pro', aspectRatio: 'adaptive' }).aspectRatio).toBe('adaptive');
    expect(v.parse({ prompt: 'x', model: '1.5-pro', image }).aspectRatio).toBe('adaptive');
    expect(v.parse({ prompt: 'x', model: '2.0', image }).aspectRatio).toBeUndefined();
  });
});

describe('new models: the AIML body names each option as its schema does', () => {
  it('1.0 pro fast: camerafixed, no aspect ratio, no sound field', () => {
    expect(body({ prompt: 'x', model: 'pro-fast', fixedCamera: true, duration: 10, resolution: '1080p', seed: 9 })).toEqual({
      model: 'bytedance/seedance-1-0-pro-fast',
      prompt: 'x',
      resolution: '1080p',
      duration: 10,
      seed: 9,
      watermark: false,
      camerafixed: true,
    });
  });

  it('1.5 pro: camera_fixed, generate_audio, adaptive ratio, first and last frame', () => {
    const b = body({ prompt: 'x', model: '1.5-pro', fixedCamera: true, audio: false, duration: 12, image, lastFrame: image, seed: 1 });
    expect(b).toEqual({
      model: 'bytedance/seedance-1-5-pro',
      prompt: 'x',
      resolution: '720p',
      duration: 12,
      seed: 1,
      watermark: false,
      camera_fixed: true,
      generate_audio: false,
      aspect_ratio: 'adaptive',
      image_url: 'data:image/png;base64,AAAA',
      last_image_url: 'data:image/png;base64,AAAA',
    });
    expect(b).not.toHaveProperty('camerafixed');
  });

  it('2.0: 4k, sound, references as image_urls / video_urls / audio_urls, no camera field', () => {
    const b = body({
      prompt: '@Image1 and @Image2 dance to @Audio1',
      model: '2.0',
      resolution: '4k',
      duration: 15,
      references: [link(1), link(2)],
      referenceVideos: ['https://cdn.example/move.mp4'],
      referenceAudios: ['https://cdn.example/beat.mp3'],
      seed: 3,
    });
    expect(b).toEqual({
      model: 'bytedance/seedance-2-0',
      prompt: '@Image1 and @Image2 dance to @Audio1',
      resolution: '4k',
      duration: 15,
      seed: 3,
      watermark: false,
      generate_audio: true,
      aspect_ratio: '16:9',
      image_urls: ['https://cdn.example/ref-1.png', 'https://cdn.example/ref-2.png'],
      video_urls: ['https://cdn.example/move.mp4'],
      audio_urls: ['https://cdn.example/beat.mp3'],
    });
  });

  it('2.0 fast has no watermark field; 2.5 runs to 30 s', () => {
    expect(body({ prompt: 'x', model: '2.0-fast', seed: 2 })).not.toHaveProperty('watermark');
    expect(body({ prompt: 'x', model: '2.5', duration: 30, audio: false, seed: 2 })).toMatchObject({ model: 'bytedance/seedance-2-5', duration: 30, generate_audio: false });
    expect(body({ prompt: 'x', model: '2.5-dreamina', seed: 2 })).toMatchObject({ model: 'bytedance/dreamina-seedance-2-5' });
    expect(body({ prompt: 'x', model: '2.0-mini', seed: 2 })).toMatchObject({ model: 'bytedance/dreamina-seedance-2-0-mini' });
  });

  it('Seedance 1.0 bodies are unchanged: no sound or reference fields', () => {
    expect(body({ prompt: 'x', model: 'lite', seed: 4 })).toEqual({
      model: 'bytedance/seedance-1-0-lite-t2v',
      prompt: 'x',
      resolution: '720p',
      duration: 5,
      seed: 4,
      watermark: false,
      camerafixed: false,
      aspect_ratio: '16:9',
    });
  });
});
