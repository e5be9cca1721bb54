// Request body validation for both providers (from the seed pages and the AIML OpenAPI schemas).
import type { AimlSchemaIndex } from './aimlapi-schemas.js';
import { loadAimlSchemas } from './aimlapi-schemas.js';
import { isPlainObject } from './http-util.js';
import { checkObject } from './schema-subset.js';
import type { ObjectSchema, PropertySchema } from './schema-subset.js';

export interface Issue {
  path: string;
  message: string;
}

export const SEGMIND_SLUG = 'seedance-v1-lite-image-to-video';

const SEGMIND_RESOLUTIONS = ['480p', '720p'];
const DATA_IMAGE_URI = /^data:image\/[a-zA-Z0-9.+-]+;base64,[A-Za-z0-9+/]+={0,2}$/;

/** An http(s) URL or a data:image/<type>;base64,<data> URI. */
export function isImageRef(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  if (v.startsWith('data:')) return DATA_IMAGE_URI.test(v);
  try {
    const url = new URL(v);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

function checkPrompt(body: Record<string, unknown>, issues: Issue[]): void {
  const prompt = body['prompt'];
  if (prompt === undefined) issues.push({ path: 'prompt', message: 'Required' });
  else if (typeof prompt !== 'string') issues.push({ path: 'prompt', message: 'Expected string' });
  else if (prompt.trim() === '') issues.push({ path: 'prompt', message: 'Must not be empty' });
}

function checkEnum(body: Record<string, unknown>, key: string, allowed: string[], issues: Issue[]): void {
  const v = body[key];
  if (v !== undefined && !(typeof v === 'string' && allowed.includes(v))) {
    issues.push({ path: key, message: `Invalid enum value. Expected ${allowed.map((a) => `'${a}'`).join(' | ')}` });
  }
}

function checkBoolean(body: Record<string, unknown>, key: string, issues: Issue[]): void {
  if (body[key] !== undefined && typeof body[key] !== 'boolean') issues.push({ path: key, message: 'Expected boolean' });
}

function checkImage(body: Record<string, unknown>, key: string, issues: Issue[]): void {
  const v = body[key];
  if (v !== undefined && !isImageRef(v)) {
    issues.push({ path: key, message: 'Expected an http(s) URL or a data:image/<type>;base64,<data> URI' });
  }
}

/** The aspect ratios of Seedance 1.0 t2v (lite-t2v schema; the pro-t2v page in ../shared/seeds). */
const ASPECT_RATIOS_1_0: PropertySchema = { type: 'string', enum: ['16:9', '4:3', '1:1', '3:4', '9:16', '21:9', '9:21'] };

interface LegacyRules {
  /** i2v needs an image even where the schema doesn't list image_url as required (pro-i2v). */
  requireImage: boolean;
  /** Properties the vendor's pages list that the current schema file lacks. */
  extra?: Readonly<Record<string, PropertySchema>>;
}

/**
 * Seedance 1.0 as the emulator accepted it before the schemas were loaded, kept so clients written against it still
 * pass: a key no AIML schema names at all is ignored (a key another model takes is still refused), `camera_fixed`
 * is taken as a spelling of `camerafixed` (one crawled vendor page spelled it so), i2v needs an image, and pro-t2v
 * takes aspect_ratio (its seed page lists it; the current pro-t2v file is the pro-i2v schema renamed).
 */
const LEGACY_1_0: Readonly<Record<string, LegacyRules>> = {
  'bytedance/seedance-1-0-lite-t2v': { requireImage: false },
  'bytedance/seedance-1-0-pro-t2v': { requireImage: false, extra: { aspect_ratio: ASPECT_RATIOS_1_0 } },
  'bytedance/seedance-1-0-lite-i2v': { requireImage: true },
  'bytedance/seedance-1-0-pro-i2v': { requireImage: true },
};

function legacySchema(schema: ObjectSchema, rules: LegacyRules): ObjectSchema {
  const properties = { ...rules.extra, ...schema.properties };
  const camerafixed = properties['camerafixed'];
  if (camerafixed && !properties['camera_fixed']) properties['camera_fixed'] = camerafixed;
  return { ...schema, properties };
}

const REFERENCE_KEYS = ['image_urls', 'video_urls', 'video_url'];
const AUDIO_KEYS = ['audio_urls', 'audio_url'];

/** Rules the schemas state only in prose (or the old emulator had), on top of the schema checks. */
function semanticIssues(body: Record<string, unknown>, model: string, issues: Issue[]): void {
  const prompt = body['prompt'];
  if (typeof prompt === 'string' && prompt.trim() === '') issues.push({ path: 'prompt', message: 'Must not be empty' });
  const has = (key: string): boolean => body[key] !== undefined;
  if (LEGACY_1_0[model]?.requireImage && !has('image_url') && !issues.some((i) => i.path === 'image_url')) {
    issues.push({ path: 'image_url', message: 'Required' });
  }
  if (has('last_image_url') && !has('image_url')) {
    issues.push({ path: 'last_image_url', message: 'last_image_url requires image_url' });
  }
  // 2.x: "If audio is provided, at least one reference image (image_urls) or video (video_urls) is required."
  const audio = AUDIO_KEYS.find(has);
  if (audio !== undefined && !REFERENCE_KEYS.some(has)) {
    issues.push({ path: audio, message: 'Audio references need at least one reference image (image_urls) or video (video_urls)' });
  }
}

/**
 * Validates an AIML create body against the model's OpenAPI request schema (test/fixtures/aimlapi-specs, or the
 * directory given to the emulator): types, enums, uri formats, array sizes, required keys, and keys the model
 * doesn't take refused (the real API answers 400 for those), plus the prose rules in semanticIssues.
 */
export function validateAimlBody(
  body: unknown,
  schemas: AimlSchemaIndex = loadAimlSchemas(),
): { model?: string; issues: Issue[] } {
  if (!isPlainObject(body)) return { issues: [{ path: '', message: 'Expected a JSON object' }] };
  const model = body['model'];
  const entry = typeof model === 'string' ? schemas.models.get(model) : undefined;
  if (!entry) {
    const names = [...schemas.models.keys()].sort().join(', ');
    return { issues: [{ path: 'model', message: `Invalid model. Expected one of ${names}` }] };
  }
  const legacy = LEGACY_1_0[entry.model];
  const issues = checkObject(body, legacy ? legacySchema(entry.schema, legacy) : entry.schema, {
    model: entry.model,
    unknownKey: (key) => (legacy && !schemas.knownFields.has(key) ? 'ignore' : 'refuse'),
  });
  semanticIssues(body, entry.model, issues);
  return { model: entry.model, issues };
}

export function validateSegmindBody(body: unknown): Issue[] {
  if (!isPlainObject(body)) return [{ path: '', message: 'Request body must be a JSON object' }];
  const issues: Issue[] = [];
  checkPrompt(body, issues);
  const duration = body['duration'];
  if (duration !== undefined && duration !== 5 && duration !== 10) {
    issues.push({ path: 'duration', message: 'duration must be 5 or 10 (integer)' });
  }
  if (body['resolution'] === '1080p') {
    issues.push({ path: 'resolution', message: '1080p is not supported by this model; use 480p or 720p' });
  } else {
    checkEnum(body, 'resolution', SEGMIND_RESOLUTIONS, issues);
  }
  for (const key of ['image_url', 'first_frame_url', 'last_frame_url']) checkImage(body, key, issues);
  const hasImage = body['image_url'] !== undefined;
  const hasFirst = body['first_frame_url'] !== undefined;
  const hasLast = body['last_frame_url'] !== undefined;
  if (hasImage && (hasFirst || hasLast)) {
    issues.push({ path: 'image_url', message: 'image_url cannot be used together with first_frame_url or last_frame_url' });
  } else if (hasLast && !hasFirst) {
    issues.push({ path: 'last_frame_url', message: 'last_frame_url requires first_frame_url' });
  } else if (!hasImage && !hasFirst) {
    issues.push({ path: 'image_url', message: 'one of image_url or first_frame_url is required' });
  }
  const seed = body['seed'];
  if (seed !== undefined && !(Number.isInteger(seed) && (seed as number) >= 1 && (seed as number) <= 999999)) {
    issues.push({ path: 'seed', message: 'seed must be an integer between 1 and 999999' });
  }
  checkBoolean(body, 'camera_fixed', issues);
  return issues;
}

export function describeIssues(issues: Issue[]): string {
  return issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
}
