// Loads the AIML API's OpenAPI files (one per model) and indexes the create-request schema by model name.
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isPlainObject } from './http-util.js';
import { SUPPORTED_PROPERTY_KEYWORDS, SUPPORTED_TYPES } from './schema-subset.js';
import type { ObjectSchema, PropertySchema } from './schema-subset.js';

/** The create endpoint whose POST request schema is read from each file. */
export const AIML_GENERATIONS_PATH = '/v2/video/generations';

/** In-repo copies of the vendor's files (byte-identical), so a fresh clone needs nothing outside the repo. */
export const FIXTURE_AIMLAPI_SPECS_DIR = fileURLToPath(new URL('../fixtures/aimlapi-specs/', import.meta.url));

/** Environment variable that overrides the default directory (EmulatorOptions.aimlapiSpecsDir wins over it). */
export const AIMLAPI_SPECS_DIR_ENV = 'EMULATOR_AIMLAPI_SPECS_DIR';

/** One model's create-request schema and the file it came from. */
export interface AimlModelSchema {
  model: string;
  file: string;
  schema: ObjectSchema;
}

/** Every model found in one directory of spec files. */
export interface AimlSchemaIndex {
  dir: string;
  models: ReadonlyMap<string, AimlModelSchema>;
  /** Every property any model's schema lists (used by the lenient Seedance 1.0 rules). */
  knownFields: ReadonlySet<string>;
}

/** The directory to load: the explicit one, else $EMULATOR_AIMLAPI_SPECS_DIR, else the in-repo fixtures. */
export function aimlapiSpecsDir(explicit?: string): string {
  const fromEnv = process.env[AIMLAPI_SPECS_DIR_ENV];
  return resolve(explicit ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : FIXTURE_AIMLAPI_SPECS_DIR));
}

function fail(file: string, where: string, message: string): never {
  throw new Error(`AIML spec ${file}: ${where}: ${message}`);
}

function parseProperty(file: string, where: string, raw: unknown): PropertySchema {
  if (!isPlainObject(raw)) fail(file, where, 'expected a schema object');
  for (const keyword of Object.keys(raw)) {
    if (!SUPPORTED_PROPERTY_KEYWORDS.has(keyword)) fail(file, where, `unsupported keyword ${keyword}`);
  }
  const { type, enum: values, format, items, minItems, maxItems } = raw;
  const prop: PropertySchema = {};
  if (type !== undefined) {
    if (typeof type !== 'string' || !SUPPORTED_TYPES.has(type)) fail(file, where, `unsupported type ${String(type)}`);
    prop.type = type as PropertySchema['type'];
  }
  if (values !== undefined) {
    if (!Array.isArray(values) || values.length === 0) fail(file, where, 'enum must be a non-empty array');
    prop.enum = values;
  }
  if (format !== undefined) {
    if (format !== 'uri') fail(file, where, `unsupported format ${String(format)}`);
    prop.format = format;
  }
  if (items !== undefined) prop.items = parseProperty(file, `${where}.items`, items);
  for (const [name, n] of [['minItems', minItems], ['maxItems', maxItems]] as const) {
    if (n === undefined) continue;
    if (!(Number.isInteger(n) && (n as number) >= 0)) fail(file, where, `${name} must be an integer >= 0`);
    prop[name] = n as number;
  }
  return prop;
}

/** The create-request schema of one parsed file, or undefined when the file has none (e.g. the fetch-only spec). */
export function parseAimlSpec(file: string, doc: unknown): AimlModelSchema | undefined {
  const path = isPlainObject(doc) && isPlainObject(doc['paths']) ? doc['paths'][AIML_GENERATIONS_PATH] : undefined;
  const post = isPlainObject(path) ? path['post'] : undefined;
  const body = isPlainObject(post) ? post['requestBody'] : undefined;
  const content = isPlainObject(body) ? body['content'] : undefined;
  const json = isPlainObject(content) ? content['application/json'] : undefined;
  const raw = isPlainObject(json) ? json['schema'] : undefined;
  if (raw === undefined) return undefined;
  if (!isPlainObject(raw) || raw['type'] !== 'object' || !isPlainObject(raw['properties'])) {
    fail(file, 'schema', 'expected {type: object, properties}');
  }
  const properties: Record<string, PropertySchema> = {};
  for (const [key, value] of Object.entries(raw['properties'])) {
    properties[key] = parseProperty(file, `properties.${key}`, value);
  }
  const required = raw['required'] ?? [];
  if (!Array.isArray(required) || !required.every((k) => typeof k === 'string' && k in properties)) {
    fail(file, 'required', 'must list names of properties');
  }
  const modelEnum = properties['model']?.enum;
  if (modelEnum?.length !== 1 || typeof modelEnum[0] !== 'string') fail(file, 'properties.model', 'expected a one-value enum');
  return { model: modelEnum[0], file, schema: { properties, required: required as string[] } };
}

/** Reads every *.json in dir; throws when a file is malformed or two files name the same model. */
export function readAimlSchemas(dir: string): AimlSchemaIndex {
  const models = new Map<string, AimlModelSchema>();
  const knownFields = new Set<string>();
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    const entry = parseAimlSpec(name, JSON.parse(readFileSync(join(dir, name), 'utf8')) as unknown);
    if (!entry) continue;
    const clash = models.get(entry.model);
    if (clash) throw new Error(`AIML specs ${clash.file} and ${name} both describe ${entry.model}`);
    models.set(entry.model, entry);
    for (const key of Object.keys(entry.schema.properties)) knownFields.add(key);
  }
  if (models.size === 0) throw new Error(`No AIML model specs in ${dir}`);
  return { dir, models, knownFields };
}

const cache = new Map<string, AimlSchemaIndex>();

/** readAimlSchemas(aimlapiSpecsDir(dir)), read once per directory. */
export function loadAimlSchemas(dir?: string): AimlSchemaIndex {
  const resolved = aimlapiSpecsDir(dir);
  let index = cache.get(resolved);
  if (!index) {
    index = readAimlSchemas(resolved);
    cache.set(resolved, index);
  }
  return index;
}
