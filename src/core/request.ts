/**
 * One zod schema, derived from the catalogue, that validates every generation
 * request and collects every problem as a specific sentence. Nothing is
 * submitted unless this passes.
 */
import { z } from 'zod';
import type { Catalogue, ModelSpec, Mode, Resolution } from './catalogue.js';
import { RESOLUTIONS, allowsDuration, durationText, takesImage } from './catalogue.js';
import { ValidationError, providerLabel } from './errors.js';
import { checkImageFacts, probeImage } from './image-probe.js';

export const PROMPT_MAX_CHARS = 2000;

/** An image as a surface hands it over: a URL with what the platform declared about it, or the bytes. */
export type ImageInput =
  | { kind: 'url'; url: string; mime?: string; bytes?: number; width?: number; height?: number; name?: string }
  | { kind: 'bytes'; data: Uint8Array; name?: string }
  /**
   * An image the bot keeps itself past a job's end: a delivered video's last frame
   * (`frames/<job id>.jpg` under DATA_DIR, see job-files.ts), for Extend and for
   * re-rolling an extended clip. Only the bot makes these, never a user.
   */
  | { kind: 'kept'; file: string; mime: string; bytes: number; width: number; height: number };

/** The path of a kept image, relative to DATA_DIR. */
export const KEPT_IMAGE = /^frames\/[0-9a-f-]{36}\.jpg$/i;

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
  /** Sound on or off; unset: on where the model makes sound. */
  audio?: boolean;
  /** Reference images (`@Image1`, `@Image2`… in the prompt), on models that take them. */
  references?: ImageInput[];
  /** Reference videos and sound files: links the provider fetches (`@Video1`, `@Audio1`…). */
  referenceVideos?: string[];
  referenceAudios?: string[];
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
  /** The clip has sound (always false on models that make none). Absent in records older than sound. */
  audio?: boolean;
  references?: PreparedImage[];
  referenceVideos?: string[];
  referenceAudios?: string[];
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
  z.object({ kind: z.literal('kept'), file: z.string().regex(KEPT_IMAGE), mime: z.string(), bytes: z.number(), width: z.number(), height: z.number() }),
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
  audio: z.boolean().optional(),
  references: z.array(imageInputSchema).optional(),
  referenceVideos: z.array(z.string()).optional(),
  referenceAudios: z.array(z.string()).optional(),
});

const providerName = providerLabel;
const orList = (xs: readonly (string | number)[]) =>
  xs.length <= 1 ? String(xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} or ${xs[xs.length - 1]}`;

function prepareImage(input: ImageInput, what: string, problems: string[]): PreparedImage | undefined {
  if (input.kind === 'kept') {
    const { file, mime, bytes, width, height } = input;
    const issues = checkImageFacts({ bytes, mime, width, height });
    if (issues.length) {
      problems.push(...issues.map((m) => `${what}: ${m}`));
      return undefined;
    }
    return { file, mime, bytes, width, height };
  }
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

const LINK = /^https?:\/\/\S+$/i;

/** `4k`, `2160p`, `1080`, `720P` → the catalogue's spelling. */
function resolutionWord(v: string): string {
  const r = v.trim().toLowerCase();
  if (r === '4k' || r === '2160' || r === '2160p') return '4k';
  return /^\d+$/.test(r) ? `${r}p` : r;
}

/** Which models take what: "2.0, 2.0-fast or 2.5". */
function ableModels(cat: Catalogue, able: (m: ModelSpec) => boolean): string {
  return orList([...new Set(cat.models.filter(able).map((m) => m.alias))]);
}

/** `@Image3` in the prompt with two reference images, and the like. */
function namedReferences(prompt: string, problems: string[], counts: Record<'Image' | 'Video' | 'Audio', number>) {
  for (const kind of ['Image', 'Video', 'Audio'] as const) {
    const named = [...prompt.matchAll(new RegExp(`@${kind}(\\d+)`, 'gi'))].map((m) => Number(m[1]));
    const over = named.filter((n) => n < 1 || n > counts[kind]);
    if (!over.length) continue;
    const have = counts[kind];
    const what = kind === 'Image' ? 'reference image' : kind === 'Video' ? 'reference video' : 'reference sound file';
    problems.push(`the prompt names @${kind}${over[0]}, but ${have === 0 ? `no ${what} was given` : `only ${have} ${what}${have === 1 ? ' was' : 's were'} given`}`);
  }
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
    const refInputs = input.references ?? [];
    const references = refInputs.map((r, i) => prepareImage(r, refInputs.length > 1 ? `reference image ${i + 1}` : 'reference image', problems));
    const refVideos = (input.referenceVideos ?? []).map((v) => v.trim());
    const refAudios = (input.referenceAudios ?? []).map((v) => v.trim());
    if (refVideos.some((v) => !LINK.test(v))) problems.push('a reference video must be an http(s) link to an MP4 or MOV file');
    if (refAudios.some((v) => !LINK.test(v))) problems.push('a reference sound file must be an http(s) link to an MP3 or WAV file');

    let resolution = defaults.resolution;
    let duration = defaults.duration;
    let seed = 0;
    let aspectRatio: string | undefined;
    let audio = false;
    if (spec) {
      const where = providerName(spec.provider);
      // Name the provider only where the alias is served by more than one.
      const who = cat.candidates(alias, mode).length > 1 ? `${where} with ${alias}` : alias;
      if (input.resolution !== undefined) {
        const wanted = resolutionWord(input.resolution);
        if ((spec.resolutions as string[]).includes(wanted)) resolution = wanted as Resolution;
        else if ((RESOLUTIONS as readonly string[]).includes(wanted)) {
          const max = spec.resolutions[spec.resolutions.length - 1];
          const min = spec.resolutions[0]!;
          problems.push(RESOLUTIONS.indexOf(wanted as Resolution) < RESOLUTIONS.indexOf(min) ? `${alias} renders at least ${min}` : cat.candidates(alias, mode).length > 1 ? `${where} renders at most ${max} with ${alias}` : `${alias} renders at most ${max}`);
        } else problems.push(`resolution must be ${orList(spec.resolutions)}`);
      } else if (!spec.resolutions.includes(resolution)) {
        // The configured default is not offered here: take the best this model has below it.
        resolution = [...spec.resolutions].reverse().find((r) => RESOLUTIONS.indexOf(r) <= RESOLUTIONS.indexOf(defaults.resolution)) ?? spec.defaultResolution;
      }

      if (input.duration !== undefined) {
        const d = parseWhole(typeof input.duration === 'string' ? input.duration.trim().replace(/\s*s(ec(ond)?s?)?$/i, '') : input.duration);
        if (d !== undefined && allowsDuration(spec, d)) duration = d;
        else problems.push(`${who} makes ${durationText(spec)} s clips`);
      } else if (!allowsDuration(spec, duration)) duration = spec.defaultDuration;

      if (input.aspectRatio !== undefined) {
        const wanted = input.aspectRatio.trim().toLowerCase();
        if (input.image && wanted !== 'adaptive') problems.push('aspect ratio is decided by the image when you give a first frame');
        else if (!spec.aspectRatios.length) problems.push(`${alias} takes no aspect ratio${takesImage(spec) ? ' (give a first frame to set the shape)' : ''}`);
        else if (spec.aspectRatios.includes(wanted)) aspectRatio = wanted;
        else problems.push(`aspect ratio must be ${orList(spec.aspectRatios)} with ${alias}`);
      } else if (input.image) aspectRatio = spec.aspectRatios.includes('adaptive') ? 'adaptive' : undefined;
      else aspectRatio = spec.defaultAspectRatio;

      if (input.seed !== undefined) {
        const s = parseWhole(input.seed);
        if (s === undefined || s < spec.seed.min || s > spec.seed.max) {
          problems.push(`seed must be ${spec.seed.min}..${spec.seed.max} on ${where}`);
        } else seed = s;
      } else seed = randomSeed(spec, random);

      if (input.lastFrame && !spec.lastFrame) {
        const byProvider = new Map<string, string[]>();
        for (const m of cat.models.filter((x) => x.lastFrame)) byProvider.set(m.provider, [...new Set([...(byProvider.get(m.provider) ?? []), m.alias])]);
        const able = [...byProvider].map(([p, aliases]) => `${orList(aliases).replace(/ or /g, ', ')} on ${providerName(p)}`);
        problems.push(able.length ? `a last frame works only with ${orList(able)}` : 'no model on this bot accepts a last frame');
      }
      if (input.fixedCamera && !spec.fixedCamera) problems.push(`a fixed camera isn't available with ${alias}${cat.candidates(alias, mode).length > 1 ? ` on ${where}` : ''}`);
      if (input.watermark && !spec.watermark) problems.push(`a watermark isn't available with ${alias}${cat.candidates(alias, mode).length > 1 ? ` on ${where}` : ''}`);

      if (input.audio && !spec.audio) {
        const able = ableModels(cat, (m) => m.audio);
        problems.push(`${alias} makes no sound${able ? `; ${able} do` : ''}`);
      }
      audio = spec.audio && input.audio !== false;

      const refs = spec.references;
      const checkCount = (n: number, max: number, what: string, kindOf: (m: ModelSpec) => number) => {
        if (!n) return;
        if (max === 0) {
          const able = ableModels(cat, (m) => kindOf(m) > 0);
          problems.push(`${alias} takes no ${what}s${able ? `; ${able} do` : ''}`);
        } else if (n > max) problems.push(`at most ${max} ${what}${max === 1 ? '' : 's'} fit with ${alias}; you gave ${n}`);
      };
      checkCount(refInputs.length, refs.images, 'reference image', (m) => m.references.images);
      checkCount(refVideos.length, refs.videos, 'reference video', (m) => m.references.videos);
      checkCount(refAudios.length, refs.audios, 'reference sound file', (m) => m.references.audios);
      if ((refInputs.length || refVideos.length || refAudios.length) && (input.image || input.lastFrame)) {
        problems.push('reference images and videos replace the first and last frame; give one or the other');
      }
      if (refAudios.length && !refInputs.length && !refVideos.length) problems.push('a reference sound file needs a reference image or video with it');
      namedReferences(prompt, problems, { Image: refInputs.length, Video: refVideos.length, Audio: refAudios.length });
    }

    if (problems.length || !spec) {
      for (const message of problems) ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    }
    const prepared = references.filter((r): r is PreparedImage => r !== undefined);
    return {
      modelId: spec.id,
      prompt,
      resolution,
      duration,
      ...(aspectRatio ? { aspectRatio } : {}),
      seed,
      fixedCamera: input.fixedCamera ?? false,
      watermark: input.watermark ?? false,
      audio,
      ...(image ? { image } : {}),
      ...(lastFrame ? { lastFrame } : {}),
      ...(prepared.length ? { references: prepared } : {}),
      ...(refVideos.length ? { referenceVideos: refVideos } : {}),
      ...(refAudios.length ? { referenceAudios: refAudios } : {}),
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

/** Every input image of a request: first and last frame, then the references. */
export function requestImages(req: Pick<GenerationRequest, 'image' | 'lastFrame' | 'references'>): PreparedImage[] {
  return [req.image, req.lastFrame, ...(req.references ?? [])].filter((i): i is PreparedImage => i !== undefined);
}

/** A stored image as an input again: links and kept images (other bytes are not kept after their job). */
export function imageInputOf(p: PreparedImage | undefined): ImageInput | undefined {
  if (p?.file && KEPT_IMAGE.test(p.file) && p.mime && p.bytes && p.width && p.height) return { kind: 'kept', file: p.file, mime: p.mime, bytes: p.bytes, width: p.width, height: p.height };
  return p?.url ? { kind: 'url', url: p.url, ...(p.mime ? { mime: p.mime } : {}), ...(p.bytes ? { bytes: p.bytes } : {}), ...(p.width ? { width: p.width } : {}), ...(p.height ? { height: p.height } : {}) } : undefined;
}

/**
 * Turns a stored request back into an input, for "re-roll" and "animate again".
 * The seed is dropped (a new one is drawn) unless `keepSeed`. Returns undefined
 * when one of the request's images was sent inline (it is not kept after its job).
 */
export function inputFromRequest(req: GenerationRequest, alias: string, opts: { keepSeed?: boolean; prompt?: string } = {}): GenerationInput | undefined {
  // Images sent inline are kept only while their job runs.
  if (requestImages(req).some((i) => !imageInputOf(i))) return undefined;
  return {
    prompt: opts.prompt ?? req.prompt,
    model: alias,
    resolution: req.resolution,
    duration: req.duration,
    ...(req.aspectRatio && (!req.image || req.aspectRatio === 'adaptive') ? { aspectRatio: req.aspectRatio } : {}),
    ...(opts.keepSeed ? { seed: req.seed } : {}),
    ...(req.fixedCamera ? { fixedCamera: true } : {}),
    ...(req.watermark ? { watermark: true } : {}),
    ...(req.audio === false ? { audio: false } : {}),
    ...(req.image ? { image: imageInputOf(req.image) } : {}),
    ...(req.lastFrame ? { lastFrame: imageInputOf(req.lastFrame) } : {}),
    ...(req.references?.length ? { references: req.references.map((r) => imageInputOf(r)!) } : {}),
    ...(req.referenceVideos?.length ? { referenceVideos: req.referenceVideos } : {}),
    ...(req.referenceAudios?.length ? { referenceAudios: req.referenceAudios } : {}),
  };
}
