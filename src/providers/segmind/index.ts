/**
 * The Segmind provider plugin: its label, config keys, the Seedance 1.0 lite
 * image-to-video catalogue entry it serves and its factory.
 */
import { z } from 'zod';
import { emptyToUndefined, str, url } from '../../config-fields.js';
import type { ModelSpec } from '../../core/catalogue.js';
import { defineModels } from '../../core/catalogue.js';
import { defineProvider } from '../registry.js';
import { createSegmindProvider } from './segmind-provider.js';

export const SEGMIND_MODELS: readonly ModelSpec[] = defineModels([
  {
    id: 'segmind/seedance-v1-lite-image-to-video',
    provider: 'segmind',
    providerModel: 'seedance-v1-lite-image-to-video',
    label: 'Seedance 1.0 Lite image-to-video (Segmind)',
    alias: 'lite',
    mode: 'i2v',
    resolutions: ['480p', '720p'],
    defaultResolution: '720p',
    durations: [5, 10],
    defaultDuration: 5,
    aspectRatios: [],
    lastFrame: true,
    seed: { min: 1, max: 999_999 },
    watermark: false,
    fixedCamera: true,
    fixedCameraField: 'camera_fixed',
    typicalSeconds: 40,
  },
]);

export const segmind = defineProvider({
  name: 'segmind',
  label: 'Segmind',
  configShape: {
    SEGMIND_API_KEY: str(),
    SEGMIND_BASE_URL: url('https://api.segmind.com'),
    /** `async` (queue + poll) or `sync` (the video comes back in the response). */
    SEGMIND_API_MODE: z.preprocess(emptyToUndefined, z.enum(['async', 'sync']).default('async')),
  },
  secretKeys: ['SEGMIND_API_KEY'],
  describe: 'SEGMIND_API_KEY (lite image-to-video)',
  models: SEGMIND_MODELS,
  configured: (c) => Boolean(c.SEGMIND_API_KEY),
  create: (c, { dispatcher }) => createSegmindProvider({ baseUrl: c.SEGMIND_BASE_URL, apiKey: c.SEGMIND_API_KEY!, dispatcher, mode: c.SEGMIND_API_MODE }),
});
