/**
 * The model catalogue: what each model accepts and which provider serves it.
 * Validation, CLI flags and chat command options are all derived from this table,
 * so a new model (Seedance 1.0 pro fast, 1.5, 2.x, …) is one more entry in its
 * provider's plugin (src/providers/<name>/index.ts) or in an `EXTRA_MODELS_FILE`,
 * not new code. The core holds no provider's entries: the app passes them in.
 */
import { z } from 'zod';

export const RESOLUTIONS = ['480p', '720p', '1080p'] as const;
export type Resolution = (typeof RESOLUTIONS)[number];
export type Mode = 't2v' | 'i2v';

export const modelSpecSchema = z.object({
  /** Stable id used in job records: `<provider>/<providerModel without vendor prefix>`. */
  id: z.string().min(1),
  provider: z.string().min(1),
  /** The model name the provider's API expects. */
  providerModel: z.string().min(1),
  label: z.string().min(1),
  /** What users type: `lite`, `pro`, … */
  alias: z.string().min(1),
  /** t2v: prompt only. i2v: needs a first frame. */
  mode: z.enum(['t2v', 'i2v']),
  resolutions: z.array(z.enum(RESOLUTIONS)).min(1),
  defaultResolution: z.enum(RESOLUTIONS),
  durations: z.array(z.number().int().positive()).min(1),
  defaultDuration: z.number().int().positive(),
  /** Empty for image-to-video: the image decides the frame shape. */
  aspectRatios: z.array(z.string()),
  defaultAspectRatio: z.string().optional(),
  lastFrame: z.boolean(),
  seed: z.object({ min: z.number().int(), max: z.number().int() }),
  watermark: z.boolean(),
  fixedCamera: z.boolean(),
  /** Request field name for the fixed-camera flag (Seedance 1.0 on AIML: `camerafixed`; 1.5: `camera_fixed`). */
  fixedCameraField: z.string().default('camerafixed'),
  /** Typical render time in seconds for a 5 s clip at the default resolution: the prior for polling. */
  typicalSeconds: z.number().positive(),
});
export type ModelSpec = z.infer<typeof modelSpecSchema>;

/** A catalogue restricted to the providers this process has keys for. */
export interface Catalogue {
  readonly models: readonly ModelSpec[];
  byId(id: string): ModelSpec | undefined;
  /** Aliases users may type, in catalogue order. */
  aliases(): string[];
  /** All values of one option across the catalogue (for command choices). */
  allResolutions(): Resolution[];
  allDurations(): number[];
  allAspectRatios(): string[];
  /** The model serving `alias` in `mode`, honouring provider preference. */
  pick(alias: string, mode: Mode): ModelSpec | undefined;
  /** Same alias and mode, on any provider (configured or not): for messages. */
  candidates(alias: string, mode: Mode): ModelSpec[];
}

export function createCatalogue(
  models: readonly ModelSpec[],
  opts: { providers: readonly string[]; preference?: readonly string[] },
): Catalogue {
  const all = models;
  const usable = models.filter((m) => opts.providers.includes(m.provider));
  const rank = (p: string) => {
    const i = (opts.preference ?? []).indexOf(p);
    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
  };
  const uniq = <T>(xs: T[]) => [...new Set(xs)];
  return {
    models: usable,
    byId: (id) => all.find((m) => m.id === id),
    aliases: () => uniq(usable.map((m) => m.alias)),
    allResolutions: () => RESOLUTIONS.filter((r) => usable.some((m) => m.resolutions.includes(r))),
    allDurations: () => uniq(usable.flatMap((m) => m.durations)).sort((a, b) => a - b),
    allAspectRatios: () => uniq(usable.flatMap((m) => m.aspectRatios)),
    pick: (alias, mode) =>
      usable
        .filter((m) => m.alias === alias && m.mode === mode)
        .sort((a, b) => rank(a.provider) - rank(b.provider))[0],
    candidates: (alias, mode) => all.filter((m) => m.alias === alias && m.mode === mode),
  };
}

/** Parses an operator-supplied JSON list of extra models (EXTRA_MODELS_FILE). */
export function parseExtraModels(json: unknown): ModelSpec[] {
  return z.array(modelSpecSchema).parse(json);
}
