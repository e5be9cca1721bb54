/**
 * The AIML API provider plugin: its label, config keys, the four Seedance 1.0
 * catalogue entries it serves and its factory.
 */
import { bool, str, url } from '../../config-fields.js';
import type { Mode, ModelSpec } from '../../core/catalogue.js';
import { defineProvider } from '../registry.js';
import { createAimlapiProvider } from './aimlapi-provider.js';

const AIML_RATIOS = ['16:9', '4:3', '1:1', '3:4', '9:16', '21:9', '9:21'];
const AIML_SEED = { min: 0, max: 4_294_967_295 };

function aiml(alias: 'lite' | 'pro', mode: Mode, typicalSeconds: number): ModelSpec {
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

/** Typical times from PROVIDERS.md (5 s clips). */
export const AIMLAPI_MODELS: readonly ModelSpec[] = [aiml('lite', 't2v', 40), aiml('lite', 'i2v', 90), aiml('pro', 't2v', 60), aiml('pro', 'i2v', 56)];

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
  describe: 'AIMLAPI_KEY (all four Seedance 1.0 models)',
  models: AIMLAPI_MODELS,
  configured: (c) => Boolean(c.AIMLAPI_KEY),
  create: (c, { dispatcher }) =>
    createAimlapiProvider({ baseUrl: c.AIMLAPI_BASE_URL, apiKey: c.AIMLAPI_KEY!, dispatcher, legacyRoute: c.AIMLAPI_LEGACY_ROUTE }),
});
