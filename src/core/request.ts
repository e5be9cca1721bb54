/**
 * One zod schema, derived from the catalogue, that validates every generation
 * request and collects every problem as a specific sentence. Nothing is
 * submitted unless this passes.
 */
import { z } from 'zod';
import type { Catalogue, ModelSpec, Mode, Resolution } from './catalogue.js';
import { RESOLUTIONS } from './catalogue.js';
import { ValidationError, providerLabel } from './errors.js';
import { checkImageFacts, probeImage } from './image-probe.js';

export const PROMPT_MAX_CHARS = 2000;

/** An image as a surface hands it over: a URL with what the platform declared about it, or the bytes. */
export type ImageInput =
  | { kind: 'url'; url: string; mime?: string; bytes?: number; width?: number; height?: number; name?: string }
  | { kind: 'bytes'; data: Uint8Array; name?: string };

/** What a user asked for, as loosely as chat options and CLI flags arrive. */
export interface GenerationInput {
  prompt: string;
  model?: string;
  image?: ImageInput;
  lastFrame?: ImageInput;
  resolution?: string;
  duration?: number | string;
  aspectRatio?: string;
  seed?: number | string;
  fixedCamera?: boolean;
  watermark?: boolean;
}

/**
 * A checked image. Exactly one of: `url`, an http(s) link the provider fetches itself;
 * `file`, the bytes written once under DATA_DIR (what the stored record keeps); `data`, the
 * bytes between validation and the job's creation (never stored).
 */
export interface PreparedImage {
  url?: string;
  file?: string;
  data?: Uint8Array;
  mime?: string;
  bytes?: number;
  width?: number;
  height?: number;
}

/** A validated request: JSON-serialisable, stored in the job record. */
export interface GenerationRequest {
  modelId: string;
  prompt: string;
  resolution: Resolution;
  duration: number;
  aspectRatio?: string;
  seed: number;
  fixedCamera: boolean;
  watermark: boolean;
  image?: PreparedImage;
  lastFrame?: PreparedImage;
}

export interface RequestDefaults {
  model: string;
  resolution: Resolution;
  duration: number;
}

const imageInputSchema = z.union([
  z.object({
    kind: z.literal('url'),
    url: z.string(),
    mime: z.string().optional(),
    bytes: z.number().optional(),
    width: z.number().optional(),
    height: z.number().optional(),
    name: z.string().optional(),
  }),
  z.object({ kind: z.literal('bytes'), data: z.instanceof(Uint8Array), name: z.string().optional() }),
]);

const inputSchema = z.object({
  prompt: z.string({ error: 'a prompt is required' }),
  model: z.string().optional(),
  image: imageInputSchema.optional(),
  lastFrame: imageInputSchema.optional(),
  resolution: z.string().optional(),
  duration: z.union([z.number(), z.string()]).optional(),
  aspectRatio: z.string().optional(),
  seed: z.union([z.number(), z.string()]).optional(),
  fixedCamera: z.boolean().optional(),
  watermark: z.boolean().optional(),
});

const providerName = providerLabel;
const orList = (xs: readonly (string | number)[]) =>
  xs.length <= 1 ? String(xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} or ${xs[xs.length - 1]}`;

function prepareImage(input: ImageInput, what: string, problems: string[]): PreparedImage | undefined {
  if (input.kind === 'bytes') {
    const info = probeImage(input.data);
    if (!info) {
      problems.push(`the ${what} isn't a supported image; use JPEG, PNG, WebP, BMP, TIFF or GIF`);
      return undefined;
    }
    const issues = checkImageFacts({ bytes: input.data.byteLength, mime: info.mime, width: info.width, height: info.height });
    if (issues.length) {
      problems.push(...issues.map((m) => `${what}: ${m}`));
      return undefined;
    }
    return { data: input.data, mime: info.mime, bytes: input.data.byteLength, width: info.width, height: info.height };
  }
  let url: URL;
  try {
    url = new URL(input.url);
  } catch {
    problems.push(`the ${what} must be an image file or an http(s) link`);
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    problems.push(`the ${what} must be an image file or an http(s) link`);
    return undefined;
  }
  const issues = checkImageFacts({ bytes: input.bytes, mime: input.mime, width: input.width, height: input.height });
  if (issues.length) {
    problems.push(...issues.map((m) => `${what}: ${m}`));
    return undefined;
  }
  const { url: href, mime, bytes, width, height } = input;
  return { url: href, mime, bytes, width, height };
}

function resolveModel(cat: Catalogue, alias: string, mode: Mode, problems: string[]): ModelSpec | undefined {
  const spec = cat.pick(alias, mode);
  if (spec) return spec;
  const known = cat.aliases();
  const other = cat.candidates(alias, mode);
  if (other.length) {
    const needs = orList([...new Set(other.map((m) => providerName(m.provider)))]);
    const article = /^[aeiou]/i.test(needs) ? 'an' : 'a';
    problems.push(`${alias} ${mode === 't2v' ? 'text-to-video' : 'image-to-video'} needs ${article} ${needs} key, which this bot doesn't have`);
  } else if (cat.models.some((m) => m.alias === alias)) {
    problems.push(mode === 't2v' ? `${alias} needs an image to animate on this bot` : `${alias} can't start from an image; try ${orList(known)}`);
  } else {
    problems.push(`unknown model "${alias}"; choose ${orList(known)}`);
  }
  return undefined;
}

function parseWhole(v: number | string): number | undefined {
  const n = typeof v === 'number' ? v : /^\s*-?\d+\s*$/.test(v) ? Number(v) : NaN;
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Picks a seed that is short enough to retype and valid on every provider. */
export function randomSeed(spec: ModelSpec, random: () => number): number {
  const lo = Math.max(1, spec.seed.min);
  const hi = Math.min(999_999, spec.seed.max);
  return lo + Math.floor(random() * (hi - lo + 1));
}

/**
 * Builds the request schema for a catalogue. `parse` either returns a
 * {@link GenerationRequest} or throws a {@link ValidationError} listing every problem.
 */
export function createRequestValidator(cat: Catalogue, defaults: RequestDefaults, random: () => number = Math.random) {
  const schema = inputSchema.transform((input, ctx): GenerationRequest => {
    const problems: string[] = [];
    const prompt = input.prompt.trim();
    if (!prompt) problems.push('a prompt is required');
    if (prompt.length > PROMPT_MAX_CHARS) problems.push(`the prompt is ${prompt.length} characters; at most ${PROMPT_MAX_CHARS} fit`);
    if (input.lastFrame && !input.image) problems.push('a last frame needs a first frame');

    const mode: Mode = input.image ? 'i2v' : 't2v';
    const alias = (input.model ?? defaults.model).trim().toLowerCase();
    const spec = resolveModel(cat, alias, mode, problems);
    const image = input.image && prepareImage(input.image, 'first frame', problems);
    const lastFrame = input.lastFrame && prepareImage(input.lastFrame, 'last frame', problems);

    let resolution = defaults.resolution;
    let duration = defaults.duration;
    let seed = 0;
    let aspectRatio: string | undefined;
    if (spec) {
      const where = providerName(spec.provider);
      if (input.resolution !== undefined) {
        const r = input.resolution.trim().toLowerCase();
        const wanted = /^\d+$/.test(r) ? `${r}p` : r;
        if ((spec.resolutions as string[]).includes(wanted)) resolution = wanted as Resolution;
        else if ((RESOLUTIONS as readonly string[]).includes(wanted)) {
          const max = spec.resolutions[spec.resolutions.length - 1];
          problems.push(`${where} renders at most ${max} with ${alias}`);
        } else problems.push(`resolution must be ${orList(spec.resolutions)}`);
      } else if (!spec.resolutions.includes(resolution)) {
        // The configured default is not offered here: take the best this model has below it.
        resolution = [...spec.resolutions].reverse().find((r) => RESOLUTIONS.indexOf(r) <= RESOLUTIONS.indexOf(defaults.resolution)) ?? spec.defaultResolution;
      }

      if (input.duration !== undefined) {
        const d = parseWhole(typeof input.duration === 'string' ? input.duration.replace(/s$/i, '') : input.duration);
        if (d !== undefined && spec.durations.includes(d)) duration = d;
        else problems.push(`duration must be ${orList(spec.durations)} seconds`);
      } else if (!spec.durations.includes(duration)) duration = spec.defaultDuration;

      if (input.aspectRatio !== undefined) {
        if (spec.mode === 'i2v') problems.push('aspect ratio is decided by the image for image-to-video');
        else if (spec.aspectRatios.includes(input.aspectRatio.trim())) aspectRatio = input.aspectRatio.trim();
        else problems.push(`aspect ratio must be ${orList(spec.aspectRatios)}`);
      } else if (spec.mode === 't2v') aspectRatio = spec.defaultAspectRatio;

      if (input.seed !== undefined) {
        const s = parseWhole(input.seed);
        if (s === undefined || s < spec.seed.min || s > spec.seed.max) {
          problems.push(`seed must be ${spec.seed.min}..${spec.seed.max} on ${where}`);
        } else seed = s;
      } else seed = randomSeed(spec, random);

      if (input.lastFrame && !spec.lastFrame) {
        const able = cat.models.filter((m) => m.lastFrame).map((m) => `${m.alias} on ${providerName(m.provider)}`);
        problems.push(able.length ? `a last frame works only with ${orList([...new Set(able)])}` : 'no model on this bot accepts a last frame');
      }
      if (input.fixedCamera && !spec.fixedCamera) problems.push(`a fixed camera isn't available with ${alias} on ${where}`);
      if (input.watermark && !spec.watermark) problems.push(`a watermark isn't available on ${where}`);
    }

    if (problems.length || !spec) {
      for (const message of problems) ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    }
    return {
      modelId: spec.id,
      prompt,
      resolution,
      duration,
      ...(aspectRatio ? { aspectRatio } : {}),
      seed,
      fixedCamera: input.fixedCamera ?? false,
      watermark: input.watermark ?? false,
      ...(image ? { image } : {}),
      ...(lastFrame ? { lastFrame } : {}),
    };
  });

  return {
    schema,
    /** Validates or throws a ValidationError with every problem. */
    parse(input: GenerationInput): GenerationRequest {
      const result = schema.safeParse(input);
      if (result.success) return result.data;
      throw new ValidationError(result.error.issues.map((i) => i.message));
    },
  };
}
export type RequestValidator = ReturnType<typeof createRequestValidator>;

/**
 * Turns a stored request back into an input, for "re-roll" and "animate again".
 * The seed is dropped (a new one is drawn) unless `keepSeed`. Returns undefined
 * when the request's image was sent inline (it is not kept after its job).
 */
export function inputFromRequest(req: GenerationRequest, alias: string, opts: { keepSeed?: boolean; prompt?: string } = {}): GenerationInput | undefined {
  const image = (p: PreparedImage | undefined): ImageInput | undefined =>
    p?.url ? { kind: 'url', url: p.url, ...(p.mime ? { mime: p.mime } : {}), ...(p.bytes ? { bytes: p.bytes } : {}), ...(p.width ? { width: p.width } : {}), ...(p.height ? { height: p.height } : {}) } : undefined;
  // Images sent inline are kept only while their job runs.
  if ((req.image && !req.image.url) || (req.lastFrame && !req.lastFrame.url)) return undefined;
  return {
    prompt: opts.prompt ?? req.prompt,
    model: alias,
    resolution: req.resolution,
    duration: req.duration,
    ...(req.aspectRatio && !req.image ? { aspectRatio: req.aspectRatio } : {}),
    ...(opts.keepSeed ? { seed: req.seed } : {}),
    ...(req.fixedCamera ? { fixedCamera: true } : {}),
    ...(req.watermark ? { watermark: true } : {}),
    ...(req.image ? { image: image(req.image) } : {}),
    ...(req.lastFrame ? { lastFrame: image(req.lastFrame) } : {}),
  };
}
