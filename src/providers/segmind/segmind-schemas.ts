/** Response shapes of Segmind's async (v2) API. */
import { z } from 'zod';

export const submitSchema = z.object({
  request_id: z.string().min(1),
  status: z.string().optional(),
});

export const statusSchema = z.object({
  status: z.string(),
  request_id: z.string().optional(),
  error: z.unknown().optional(),
  output: z.unknown().optional(),
  metrics: z.unknown().optional(),
});
export type SegmindStatus = z.infer<typeof statusSchema>;

/** The video URL in a result: `output` may be a URL, a list of URLs or an object holding one. */
export function outputUrl(output: unknown): string | undefined {
  if (typeof output === 'string') return /^https?:\/\//.test(output) ? output : undefined;
  if (Array.isArray(output)) {
    for (const o of output) {
      const u = outputUrl(o);
      if (u) return u;
    }
    return undefined;
  }
  if (output && typeof output === 'object') {
    const o = output as Record<string, unknown>;
    for (const k of ['video_url', 'url', 'video', 'output']) {
      const u = outputUrl(o[k]);
      if (u) return u;
    }
  }
  return undefined;
}
