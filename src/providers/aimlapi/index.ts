/**
 * The AIML API provider plugin: its label, config keys, the Seedance models it
 * serves (1.0 lite/pro, 1.0 pro fast, 1.5 pro and the 2.x family, all on
 * `/v2/video/generations`; schemas in ../shared/specs/aimlapi/) and its factory.
 */
import { bool, str, url } from '../../config-fields.js';
import type { Mode, ModelSpec, ModelSpecInput } from '../../core/catalogue.js';
import { defineModels } from '../../core/catalogue.js';
import { defineProvider } from '../registry.js';
import { createAimlapiProvider } from './aimlapi-provider.js';

const AIML_RATIOS = ['16:9', '4:3', '1:1', '3:4', '9:16', '21:9', '9:21'];
const RATIOS_2X = ['16:9', '4:3', '1:1', '3:4', '9:16', '21:9'];
const AIML_SEED = { min: 0, max: 4_294_967_295 };

function aiml(alias: 'lite' | 'pro', mode: Mode, typicalSeconds: number): ModelSpecInput {
  const providerModel = `bytedance/seedance-1-0-${alias}-${mode}`;
  return {
    id: `aimlapi/seedance-1-0-${alias}-${mode}`,
    provider: 'aimlapi',
    providerModel,
    label: `Seedance 1.0 ${alias === 'lite' ? 'Lite' : 'Pro'} ${mode === 't2v' ? 'text-to-video' : 'image-to-video'} (AIML API)`,
    alias,
    mode,
    resolutions: ['480p', '720p', '1080p'],
    defaultResolution: '720p',
    durations: [5, 10],
    defaultDuration: 5,
    aspectRatios: mode === 't2v' ? AIML_RATIOS : [],
    defaultAspectRatio: mode === 't2v' ? '16:9' : undefined,
    lastFrame: alias === 'pro' && mode === 'i2v',
    seed: AIML_SEED,
    watermark: true,
    fixedCamera: true,
    fixedCameraField: 'camerafixed',
    typicalSeconds,
  };
}

/** The 2.x family: text and image in one model, sound, references, no camera flag. */
function seedance2(o: { name: string; alias: string; label: string; resolutions: ModelSpecInput['resolutions']; maxSeconds: number; watermark: boolean; typicalSeconds: number }): ModelSpecInput {
  return {
    id: `aimlapi/${o.name}`,
    provider: 'aimlapi',
    providerModel: `bytedance/${o.name}`,
    label: `${o.label} (AIML API)`,
    alias: o.alias,
    mode: 'any',
    resolutions: o.resolutions,
    defaultResolution: '720p',
    durations: { min: 4, max: o.maxSeconds },
    defaultDuration: 5,
    aspectRatios: RATIOS_2X,
    defaultAspectRatio: '16:9',
    lastFrame: true,
    seed: AIML_SEED,
    watermark: o.watermark,
    fixedCamera: false,
    audio: true,
    references: { images: 9, videos: 3, audios: 3 },
    typicalSeconds: o.typicalSeconds,
  };
}

/**
 * Typical times for 5 s clips at 720p: 1.0 from PROVIDERS.md, the newer ones guessed from their
 * size (the learned estimate corrects them after a few jobs).
 */
export const AIMLAPI_MODELS: readonly ModelSpec[] = defineModels([
  aiml('lite', 't2v', 40),
  aiml('lite', 'i2v', 90),
  aiml('pro', 't2v', 60),
  aiml('pro', 'i2v', 56),
  {
    id: 'aimlapi/seedance-1-0-pro-fast',
    provider: 'aimlapi',
    providerModel: 'bytedance/seedance-1-0-pro-fast',
    label: 'Seedance 1.0 Pro Fast (AIML API)',
    alias: 'pro-fast',
    mode: 'any',
    resolutions: ['480p', '720p', '1080p'],
    defaultResolution: '720p',
    durations: [5, 10],
    defaultDuration: 5,
    aspectRatios: [],
    lastFrame: true,
    seed: AIML_SEED,
    watermark: true,
    fixedCamera: true,
    fixedCameraField: 'camerafixed',
    typicalSeconds: 30,
  },
  {
    id: 'aimlapi/seedance-1-5-pro',
    provider: 'aimlapi',
    providerModel: 'bytedance/seedance-1-5-pro',
    label: 'Seedance 1.5 Pro (AIML API)',
    alias: '1.5-pro',
    mode: 'any',
    resolutions: ['480p', '720p', '1080p'],
    defaultResolution: '720p',
    durations: { min: 4, max: 12 },
    defaultDuration: 5,
    aspectRatios: [...RATIOS_2X, 'adaptive'],
    defaultAspectRatio: '16:9',
    lastFrame: true,
    seed: AIML_SEED,
    watermark: true,
    fixedCamera: true,
    fixedCameraField: 'camera_fixed',
    audio: true,
    typicalSeconds: 70,
  },
  seedance2({ name: 'seedance-2-0', alias: '2.0', label: 'Seedance 2.0', resolutions: ['480p', '720p', '1080p', '4k'], maxSeconds: 15, watermark: true, typicalSeconds: 100 }),
  seedance2({ name: 'seedance-2-0-fast', alias: '2.0-fast', label: 'Seedance 2.0 Fast', resolutions: ['480p', '720p'], maxSeconds: 15, watermark: false, typicalSeconds: 50 }),
  seedance2({ name: 'dreamina-seedance-2-0-mini', alias: '2.0-mini', label: 'Dreamina Seedance 2.0 Mini', resolutions: ['480p', '720p'], maxSeconds: 15, watermark: true, typicalSeconds: 45 }),
  seedance2({ name: 'seedance-2-5', alias: '2.5', label: 'Seedance 2.5', resolutions: ['480p', '720p'], maxSeconds: 30, watermark: true, typicalSeconds: 120 }),
  seedance2({ name: 'dreamina-seedance-2-5', alias: '2.5-dreamina', label: 'Dreamina Seedance 2.5', resolutions: ['480p', '720p'], maxSeconds: 30, watermark: true, typicalSeconds: 120 }),
]);

export const aimlapi = defineProvider({
  name: 'aimlapi',
  label: 'AIML API',
  configShape: {
    AIMLAPI_KEY: str(),
    AIMLAPI_BASE_URL: url('https://api.aimlapi.com'),
    /** Use the legacy `/v2/generate/video/bytedance/generation` route. */
    AIMLAPI_LEGACY_ROUTE: bool(false),
  },
  secretKeys: ['AIMLAPI_KEY'],
  describe: 'AIMLAPI_KEY (Seedance 1.0, 1.5 and 2.x)',
  models: AIMLAPI_MODELS,
  configured: (c) => Boolean(c.AIMLAPI_KEY),
  create: (c, { dispatcher }) =>
    createAimlapiProvider({ baseUrl: c.AIMLAPI_BASE_URL, apiKey: c.AIMLAPI_KEY!, dispatcher, legacyRoute: c.AIMLAPI_LEGACY_ROUTE }),
});
