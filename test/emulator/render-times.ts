// Realistic render times (PROVIDERS.md "Typical times", 5 s clips) for the standalone emulator.
import type { RenderJobInfo } from './types.js';

const BASE_MS: Readonly<Record<string, number>> = {
  'bytedance/seedance-1-0-lite-t2v': 40_000,
  'bytedance/seedance-1-0-lite-i2v': 90_000,
  'bytedance/seedance-1-0-pro-t2v': 60_000,
  'bytedance/seedance-1-0-pro-i2v': 56_000,
  'seedance-v1-lite-image-to-video': 40_000,
};

/** Render time of a job at real-world speed, multiplied by scale. */
export function realisticRenderMs(job: RenderJobInfo, scale = 1): number {
  let ms = BASE_MS[job.model] ?? 60_000;
  if (String(job.body['duration']) === '10') ms *= 1.8;
  if (job.body['resolution'] === '480p') ms *= 38 / 56; // pro i2v: 38 s at 480p vs 56 s
  return Math.round(ms * scale);
}
