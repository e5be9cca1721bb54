// A validator for the small JSON-schema subset the AIML OpenAPI request schemas use.
import { isPlainObject } from './http-util.js';
import type { Issue } from './validation.js';

export type SchemaType = 'string' | 'integer' | 'number' | 'boolean' | 'array';

/** One property (or array item) schema: only the keywords these files use. */
export interface PropertySchema {
  type?: SchemaType;
  enum?: readonly unknown[];
  /** Only 'uri' is checked: an http(s) URL or a data: URI (see checkUri). */
  format?: 'uri';
  items?: PropertySchema;
  minItems?: number;
  maxItems?: number;
}

/** A request body schema: `type: object` with properties and required. */
export interface ObjectSchema {
  properties: Readonly<Record<string, PropertySchema>>;
  required: readonly string[];
}

/** Keywords the loader accepts; anything else in a spec file is an error, so no rule is silently skipped. */
export const SUPPORTED_PROPERTY_KEYWORDS: ReadonlySet<string> = new Set([
  'type', 'enum', 'format', 'items', 'minItems', 'maxItems', 'default', 'description', 'example', 'title',
]);
export const SUPPORTED_TYPES: ReadonlySet<string> = new Set(['string', 'integer', 'number', 'boolean', 'array']);

export interface CheckOptions {
  /**
   * What to do with a key the schema doesn't list: 'refuse' answers "Not supported by <model>" (the real API's
   * 400), 'ignore' lets it through unchecked.
   */
  unknownKey(key: string): 'refuse' | 'ignore';
  /** Named in the "Not supported by …" message. */
  model: string;
}

const DATA_URI = /^data:([a-zA-Z0-9.+-]+)\/[a-zA-Z0-9.+-]+(;[a-zA-Z0-9=.+-]+)*;base64,[A-Za-z0-9+/]+={0,2}$/;

/** The media a uri field carries, from its name: image_url(s), audio_url(s), video_url(s); undefined otherwise. */
function mediaOf(key: string): 'image' | 'audio' | 'video' | undefined {
  const m = /^(?:last_)?(image|audio|video)_urls?$/.exec(key);
  return m ? (m[1] as 'image' | 'audio' | 'video') : undefined;
}

/** An http(s) URL, or a base64 data: URI whose media type matches the field (data:image/… for image fields). */
export function checkUri(value: string, key: string): string | undefined {
  const media = mediaOf(key);
  const expected = `Expected an http(s) URL or a data:${media ?? '<type>'}/<subtype>;base64,<data> URI`;
  if (value.startsWith('data:')) {
    const m = DATA_URI.exec(value);
    return m && (media === undefined || m[1]?.toLowerCase() === media) ? undefined : expected;
  }
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' ? undefined : expected;
  } catch {
    return expected;
  }
}

function describeEnum(values: readonly unknown[]): string {
  return values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v))).join(' | ');
}

function typeProblem(value: unknown, type: SchemaType | undefined): string | undefined {
  switch (type) {
    case undefined:
      return undefined;
    case 'string':
      return typeof value === 'string' ? undefined : 'Expected string';
    case 'integer':
      return Number.isInteger(value) ? undefined : 'Expected integer';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : 'Expected number';
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'Expected boolean';
    case 'array':
      return Array.isArray(value) ? undefined : 'Expected array';
  }
}

/**
 * An integer enum also takes its members written as decimal strings: the vendor's own examples send
 * `"duration": "5"` (1.0 and 2.x alike) and the 2.x schemas give `"default": "5"`.
 */
function enumMember(value: unknown, schema: PropertySchema): boolean {
  const members = schema.enum ?? [];
  if (members.includes(value)) return true;
  return schema.type === 'integer' && typeof value === 'string' && /^\d+$/.test(value) && members.includes(Number(value));
}

function checkValue(value: unknown, schema: PropertySchema, key: string, path: string, issues: Issue[]): void {
  if (schema.enum !== undefined) {
    if (!enumMember(value, schema)) issues.push({ path, message: `Invalid enum value. Expected ${describeEnum(schema.enum)}` });
    return;
  }
  const problem = typeProblem(value, schema.type);
  if (problem !== undefined) {
    issues.push({ path, message: problem });
    return;
  }
  if (schema.format === 'uri' && typeof value === 'string') {
    const message = checkUri(value, key);
    if (message !== undefined) issues.push({ path, message });
  }
  if (!Array.isArray(value)) return;
  if (schema.minItems !== undefined && value.length < schema.minItems) {
    issues.push({ path, message: `Array must contain at least ${schema.minItems} element(s)` });
  }
  if (schema.maxItems !== undefined && value.length > schema.maxItems) {
    issues.push({ path, message: `Array must contain at most ${schema.maxItems} element(s)` });
  }
  if (schema.items) {
    const items = schema.items;
    value.forEach((item, i) => checkValue(item, items, key, `${path}.${i}`, issues));
  }
}

/** Checks a body against an object schema: required keys, each listed property, and unknown keys. */
export function checkObject(body: unknown, schema: ObjectSchema, opts: CheckOptions): Issue[] {
  if (!isPlainObject(body)) return [{ path: '', message: 'Expected a JSON object' }];
  const issues: Issue[] = [];
  for (const key of schema.required) {
    if (body[key] === undefined) issues.push({ path: key, message: 'Required' });
  }
  for (const [key, value] of Object.entries(body)) {
    if (value === undefined) continue;
    const prop = schema.properties[key];
    if (prop) checkValue(value, prop, key, key, issues);
    else if (opts.unknownKey(key) === 'refuse') issues.push({ path: key, message: `Not supported by ${opts.model}` });
  }
  return issues;
}
