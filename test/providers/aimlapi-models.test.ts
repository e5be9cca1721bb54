/**
 * Every AIML API model in the catalogue, with every option it takes, through the
 * real provider client over HTTP to the emulator, which checks each body against
 * that model's own OpenAPI schema (unknown fields refused). A catalogue entry
 * whose data disagrees with its schema fails here before it can spend anyone's credits.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Dispatcher } from 'undici';
import { createCatalogue, durationBounds } from '../../src/core/catalogue.js';
import type { ModelSpec } from '../../src/core/catalogue.js';
import type { ProviderRequest } from '../../src/core/ports.js';
import type { GenerationInput, ImageInput } from '../../src/core/request.js';
import { createRequestValidator } from '../../src/core/request.js';
import { createDispatcher } from '../../src/http/http-client.js';
import { createAimlapiProvider } from '../../src/providers/aimlapi/aimlapi-provider.js';
import { BUILTIN_MODELS } from '../../src/providers/index.js';
import { DEFAULT_AIMLAPI_KEY, startProviderEmulator } from '../emulator/provider-emulator.js';
import type { ProviderEmulator } from '../emulator/provider-emulator.js';

const AIML = BUILTIN_MODELS.filter((m) => m.provider === 'aimlapi');
const cat = createCatalogue(BUILTIN_MODELS, { providers: ['aimlapi'] });
const validator = createRequestValidator(cat, { model: 'lite', resolution: '720p', duration: 5 });
const picture = (n: string): ImageInput => ({ kind: 'url', url: `https://images.example.com/${n}.jpg`, mime: 'image/jpeg', width: 1280, height: 720, bytes: 90_000 });

let emu: ProviderEmulator;
let dispatcher: Dispatcher;
beforeAll(async () => {
  emu = await startProviderEmulator({ renderMs: () => 10 });
  dispatcher = createDispatcher({});
});
afterAll(async () => {
  await dispatcher.close();
  await emu.close();
});
beforeEach(() => emu.reset());

/** What the core hands the provider for a validated input (links stay links). */
function providerRequest(input: GenerationInput): ProviderRequest {
  const req = validator.parse(input);
  const model = cat.byId(req.modelId)!;
  const url = (i: { url?: string } | undefined) => (i ? { url: i.url! } : undefined);
  return { ...req, model, image: url(req.image), lastFrame: url(req.lastFrame), references: req.references?.map((r) => url(r)!) };
}

/** The richest inputs a model takes: every option it has, at the top of each range. */
function richest(m: ModelSpec): GenerationInput[] {
  const top = {
    prompt: 'a red fox trotting through fresh snow',
    model: m.alias,
    resolution: m.resolutions[m.resolutions.length - 1],
    duration: durationBounds(m).max,
    seed: m.seed.max,
    ...(m.fixedCamera ? { fixedCamera: true } : {}),
    ...(m.watermark ? { watermark: true } : {}),
    ...(m.audio ? { audio: false } : {}),
  };
  const inputs: GenerationInput[] = [];
  if (m.mode !== 'i2v') inputs.push({ ...top, ...(m.aspectRatios.length ? { aspectRatio: m.aspectRatios[m.aspectRatios.length - 1] } : {}) });
  if (m.mode !== 't2v') inputs.push({ ...top, image: picture('first'), ...(m.lastFrame ? { lastFrame: picture('last') } : {}) });
  const r = m.references;
  if (r.images || r.videos) {
    const images = Array.from({ length: r.images }, (_, i) => picture(`ref${i + 1}`));
    const videos = Array.from({ length: r.videos }, (_, i) => `https://videos.example.com/move${i + 1}.mp4`);
    const audios = Array.from({ length: r.audios }, (_, i) => `https://sounds.example.com/beat${i + 1}.mp3`);
    inputs.push({ ...top, prompt: '@Image1 dances to @Audio1 like @Video1', references: images, referenceVideos: videos, referenceAudios: audios });
  }
  return inputs;
}

describe('AIML API: every catalogue entry against its schema', () => {
  it('covers the eleven AIML models', () => {
    expect(AIML.map((m) => m.providerModel)).toHaveLength(11);
  });

  it.each(AIML.map((m) => [m.alias + ' ' + m.mode, m] as const))('%s: the richest requests are accepted, each field as its schema names it', async (_name, m) => {
    const provider = createAimlapiProvider({ baseUrl: emu.aimlapiUrl, apiKey: DEFAULT_AIMLAPI_KEY, dispatcher });
    for (const input of richest(m)) {
      const req = providerRequest(input);
      const started = await provider.start(req, { jobId: 'j', workDir: '/nonexistent' });
      expect(started.operation.id).toBeTruthy();
      const body = emu.bodies({ service: 'aimlapi', kind: 'create' }).at(-1) as Record<string, unknown>;
      expect(body.model).toBe(m.providerModel);
      expect(body.duration).toBe(durationBounds(m).max);
      expect(body.resolution).toBe(m.resolutions[m.resolutions.length - 1]);
      if (m.audio) expect(body[m.audioField]).toBe(false);
      else expect(body).not.toHaveProperty('generate_audio');
      if (m.fixedCamera) expect(body[m.fixedCameraField]).toBe(true);
      if (input.references) expect((body.image_urls as string[]).length).toBe(m.references.images);
    }
    // Nothing was refused: every create was accepted.
    expect(emu.requests.filter((r) => r.kind === 'create').every((r) => r.status === 200)).toBe(true);
  });
});
