/**
 * The model catalogue: what each model accepts and which provider serves it.
 * Validation, CLI flags and chat command options are all derived from this table,
 * so a new model (Seedance 1.0 pro fast, 1.5, 2.x, …) is one more entry in its
 * provider's plugin (src/providers/<name>/index.ts) or in an `EXTRA_MODELS_FILE`,
 * not new code. The core holds no provider's entries: the app passes them in.
 */
import { z } from 'zod';

export const RESOLUTIONS = ['480p', '720p', '1080p', '4k'] as const;
export type Resolution = (typeof RESOLUTIONS)[number];
/** t2v: prompt only. i2v: needs a first frame. any: one model for both, the first frame optional. */
export type Mode = 't2v' | 'i2v';
export type ModelMode = Mode | 'any';

const count = z.number().int().min(0);

export const modelSpecSchema = z.object({
  /** Stable id used in job records: `<provider>/<providerModel without vendor prefix>`. */
  id: z.string().min(1),
  provider: z.string().min(1),
  /** The model name the provider's API expects. */
  providerModel: z.string().min(1),
  label: z.string().min(1),
  /** What users type: `lite`, `pro`, `2.0`, … */
  alias: z.string().min(1),
  mode: z.enum(['t2v', 'i2v', 'any']),
  resolutions: z.array(z.enum(RESOLUTIONS)).min(1),
  defaultResolution: z.enum(RESOLUTIONS),
  /** Clip lengths in seconds: a list (`[5, 10]`) or a whole range (`{min: 4, max: 30}`). */
  durations: z.union([z.array(z.number().int().positive()).min(1), z.object({ min: z.number().int().positive(), max: z.number().int().positive() })]),
  defaultDuration: z.number().int().positive(),
  /** Frame shapes for text-to-video (may include `adaptive`); empty when only an image decides it. */
  aspectRatios: z.array(z.string()),
  defaultAspectRatio: z.string().optional(),
  lastFrame: z.boolean(),
  seed: z.object({ min: z.number().int(), max: z.number().int() }),
  watermark: z.boolean(),
  fixedCamera: z.boolean(),
  /** Request field name for the fixed-camera flag (Seedance 1.0 on AIML: `camerafixed`; 1.5: `camera_fixed`). */
  fixedCameraField: z.string().default('camerafixed'),
  /** The model makes sound (on by default where it does). */
  audio: z.boolean().default(false),
  /** Request field name for the sound flag. */
  audioField: z.string().default('generate_audio'),
  /** How many reference images, videos and sound files the model takes (0: none). */
  references: z.object({ images: count.default(0), videos: count.default(0), audios: count.default(0) }).default({ images: 0, videos: 0, audios: 0 }),
  /** Typical render time in seconds for a 5 s clip at 720p: the prior for polling. */
  typicalSeconds: z.number().positive(),
});
export type ModelSpec = z.infer<typeof modelSpecSchema>;
/** A catalogue entry as written in a plugin: fields with defaults may be left out. */
export type ModelSpecInput = z.input<typeof modelSpecSchema>;

/** The shortest and longest clip a model makes. */
export function durationBounds(spec: Pick<ModelSpec, 'durations'>): { min: number; max: number } {
  const d = spec.durations;
  return Array.isArray(d) ? { min: Math.min(...d), max: Math.max(...d) } : d;
}

export function allowsDuration(spec: Pick<ModelSpec, 'durations'>, seconds: number): boolean {
  const d = spec.durations;
  return Array.isArray(d) ? d.includes(seconds) : Number.isInteger(seconds) && seconds >= d.min && seconds <= d.max;
}

/** Every clip length a model makes, in order. */
export function durationList(spec: Pick<ModelSpec, 'durations'>): number[] {
  const d = spec.durations;
  if (Array.isArray(d)) return [...d].sort((a, b) => a - b);
  return Array.from({ length: d.max - d.min + 1 }, (_, i) => d.min + i);
}

/** "5 or 10", "4 to 30". */
export function durationText(spec: Pick<ModelSpec, 'durations'>): string {
  const d = spec.durations;
  if (!Array.isArray(d)) return `${d.min} to ${d.max}`;
  const xs = durationList(spec);
  return xs.length <= 1 ? String(xs[0]) : `${xs.slice(0, -1).join(', ')} or ${xs[xs.length - 1]}`;
}

/** The model can start from an image. */
export const takesImage = (spec: Pick<ModelSpec, 'mode'>) => spec.mode !== 't2v';
const servesMode = (spec: Pick<ModelSpec, 'mode'>, mode: Mode) => spec.mode === mode || spec.mode === 'any';

/** A catalogue restricted to the providers this process has keys for. */
export interface Catalogue {
  readonly models: readonly ModelSpec[];
  byId(id: string): ModelSpec | undefined;
  /** Aliases users may type, in catalogue order. */
  aliases(): string[];
  /** All values of one option across the catalogue (for command choices). */
  allResolutions(): Resolution[];
  allDurations(): number[];
  /** Shortest and longest clip any model makes. */
  durationBounds(): { min: number; max: number };
  allAspectRatios(): string[];
  /** The most reference images any model takes (0: none does). */
  maxReferenceImages(): number;
  /** Some model makes sound. */
  anyAudio(): boolean;
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
    allDurations: () => uniq(usable.flatMap(durationList)).sort((a, b) => a - b),
    durationBounds: () => {
      const b = usable.map(durationBounds);
      return b.length ? { min: Math.min(...b.map((x) => x.min)), max: Math.max(...b.map((x) => x.max)) } : { min: 5, max: 10 };
    },
    allAspectRatios: () => uniq(usable.flatMap((m) => m.aspectRatios)),
    maxReferenceImages: () => Math.max(0, ...usable.map((m) => m.references.images)),
    anyAudio: () => usable.some((m) => m.audio),
    pick: (alias, mode) =>
      usable
        .filter((m) => m.alias === alias && servesMode(m, mode))
        .sort((a, b) => rank(a.provider) - rank(b.provider))[0],
    candidates: (alias, mode) => all.filter((m) => m.alias === alias && servesMode(m, mode)),
  };
}

/** Parses an operator-supplied JSON list of extra models (EXTRA_MODELS_FILE). */
export function parseExtraModels(json: unknown): ModelSpec[] {
  return z.array(modelSpecSchema).parse(json);
}

/** Fills in a plugin's catalogue entries (defaults for the fields it leaves out) and checks them. */
export function defineModels(entries: readonly ModelSpecInput[]): ModelSpec[] {
  return entries.map((m) => modelSpecSchema.parse(m));
}
