// Request body validation for both providers (from the seed pages and the AIML OpenAPI schemas).
import { isPlainObject } from './http-util.js';

export interface Issue {
  path: string;
  message: string;
}

interface AimlModelRules {
  imageUrl: 'required' | 'optional' | 'forbidden';
  lastImageUrl: boolean;
  aspectRatio: boolean;
}

export const AIML_MODELS: Readonly<Record<string, AimlModelRules>> = {
  'bytedance/seedance-1-0-lite-t2v': { imageUrl: 'forbidden', lastImageUrl: false, aspectRatio: true },
  // The pro-t2v schema lists image_url and last_image_url too.
  'bytedance/seedance-1-0-pro-t2v': { imageUrl: 'optional', lastImageUrl: true, aspectRatio: true },
  'bytedance/seedance-1-0-lite-i2v': { imageUrl: 'required', lastImageUrl: false, aspectRatio: false },
  'bytedance/seedance-1-0-pro-i2v': { imageUrl: 'required', lastImageUrl: true, aspectRatio: false },
};

export const SEGMIND_SLUG = 'seedance-v1-lite-image-to-video';

const AIML_RESOLUTIONS = ['480p', '720p', '1080p'];
const SEGMIND_RESOLUTIONS = ['480p', '720p'];
const ASPECT_RATIOS = ['16:9', '4:3', '1:1', '3:4', '9:16', '21:9', '9:21'];
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

export function validateAimlBody(body: unknown): { model?: string; issues: Issue[] } {
  if (!isPlainObject(body)) return { issues: [{ path: '', message: 'Expected a JSON object' }] };
  const issues: Issue[] = [];
  const model = body['model'];
  const rules = typeof model === 'string' ? AIML_MODELS[model] : undefined;
  if (!rules) {
    issues.push({ path: 'model', message: `Invalid model. Expected one of ${Object.keys(AIML_MODELS).join(', ')}` });
    return { issues };
  }
  checkPrompt(body, issues);
  checkEnum(body, 'resolution', AIML_RESOLUTIONS, issues);
  const duration = body['duration'];
  // The schema says integer 5|10; the vendor's own samples send "5".
  if (duration !== undefined && ![5, 10, '5', '10'].includes(duration as number | string)) {
    issues.push({ path: 'duration', message: 'Invalid enum value. Expected 5 | 10' });
  }
  if (body['aspect_ratio'] !== undefined && !rules.aspectRatio) {
    issues.push({ path: 'aspect_ratio', message: `Not supported by ${model as string}` });
  } else {
    checkEnum(body, 'aspect_ratio', ASPECT_RATIOS, issues);
  }
  if (rules.imageUrl === 'required' && body['image_url'] === undefined) {
    issues.push({ path: 'image_url', message: 'Required' });
  } else if (rules.imageUrl === 'forbidden' && body['image_url'] !== undefined) {
    issues.push({ path: 'image_url', message: `Not supported by ${model as string}` });
  } else {
    checkImage(body, 'image_url', issues);
  }
  if (body['last_image_url'] !== undefined && !rules.lastImageUrl) {
    issues.push({ path: 'last_image_url', message: `Not supported by ${model as string}` });
  } else {
    checkImage(body, 'last_image_url', issues);
  }
  if (body['seed'] !== undefined && !Number.isInteger(body['seed'])) {
    issues.push({ path: 'seed', message: 'Expected integer' });
  }
  for (const key of ['watermark', 'camerafixed', 'camera_fixed']) checkBoolean(body, key, issues);
  return { model: model as string, issues };
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
