// The message-body limits Discord enforces, answered with its 50035 / 50006 errors.
import { fail, invalidForm } from './errors.js';
import type { FieldError } from './errors.js';

type Obj = Record<string, unknown>;
const COMPONENTS_V2 = 1 << 15;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const len = (v: unknown): number => (typeof v === 'string' ? [...v].length : 0);

function maxLen(problems: FieldError[], path: string, value: unknown, max: number): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'string') {
    problems.push({ path, code: 'BASE_TYPE_BAD_TYPE', message: 'Must be a string.' });
  } else if (len(value) > max) {
    problems.push({ path, code: 'BASE_TYPE_MAX_LENGTH', message: `Must be ${max} or fewer in length.` });
  }
}

function checkEmbeds(problems: FieldError[], embeds: unknown): void {
  if (embeds === undefined || embeds === null) return;
  if (!Array.isArray(embeds)) return void problems.push({ path: 'embeds', code: 'BASE_TYPE_BAD_TYPE', message: 'Must be an array.' });
  if (embeds.length > 10) problems.push({ path: 'embeds', code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 10 or fewer in length.' });
  let total = 0;
  embeds.forEach((e, i) => {
    if (!isObj(e)) return void problems.push({ path: `embeds.${i}`, code: 'MODEL_TYPE_CONVERT', message: 'Only dictionaries may be used in a ModelType' });
    const footer = isObj(e.footer) ? e.footer : {};
    const author = isObj(e.author) ? e.author : {};
    maxLen(problems, `embeds.${i}.title`, e.title, 256);
    maxLen(problems, `embeds.${i}.description`, e.description, 4096);
    maxLen(problems, `embeds.${i}.footer.text`, footer.text, 2048);
    maxLen(problems, `embeds.${i}.author.name`, author.name, 256);
    total += len(e.title) + len(e.description) + len(footer.text) + len(author.name);
    const fields = Array.isArray(e.fields) ? e.fields : [];
    if (fields.length > 25) problems.push({ path: `embeds.${i}.fields`, code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 25 or fewer in length.' });
    fields.forEach((f, j) => {
      const field = isObj(f) ? f : {};
      maxLen(problems, `embeds.${i}.fields.${j}.name`, field.name, 256);
      maxLen(problems, `embeds.${i}.fields.${j}.value`, field.value, 1024);
      total += len(field.name) + len(field.value);
    });
  });
  if (total > 6000) problems.push({ path: 'embeds', code: 'MAX_EMBED_SIZE_EXCEEDED', message: 'Embed size exceeds maximum size of 6000' });
}

function checkButton(problems: FieldError[], path: string, c: Obj): void {
  maxLen(problems, `${path}.label`, c.label, 80);
  maxLen(problems, `${path}.custom_id`, c.custom_id, 100);
  if (c.style === 5) {
    if (typeof c.url !== 'string') problems.push({ path: `${path}.url`, code: 'BASE_TYPE_REQUIRED', message: 'This field is required' });
    if (c.custom_id !== undefined) problems.push({ path: `${path}.custom_id`, code: 'COMPONENT_CUSTOM_ID_NOT_ALLOWED', message: 'A custom id is not allowed for link buttons' });
  } else if (c.style !== 6 && typeof c.custom_id !== 'string') {
    problems.push({ path: `${path}.custom_id`, code: 'BASE_TYPE_REQUIRED', message: 'This field is required' });
  }
}

function checkComponents(problems: FieldError[], components: unknown, flags: number): void {
  if (components === undefined || components === null || (flags & COMPONENTS_V2) !== 0) return;
  if (!Array.isArray(components)) return void problems.push({ path: 'components', code: 'BASE_TYPE_BAD_TYPE', message: 'Must be an array.' });
  if (components.length > 5) problems.push({ path: 'components', code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 5 or fewer in length.' });
  const ids = new Set<string>();
  components.forEach((row, i) => {
    if (!isObj(row) || row.type !== 1) {
      return void problems.push({ path: `components.${i}.type`, code: 'UNION_TYPE_CHOICES', message: 'Value of field "type" must be one of (1,).' });
    }
    const inner = Array.isArray(row.components) ? row.components : [];
    if (inner.length === 0 || inner.length > 5) {
      problems.push({ path: `components.${i}.components`, code: 'BASE_TYPE_BAD_LENGTH', message: 'Must be between 1 and 5 in length.' });
    }
    inner.forEach((c, j) => {
      if (!isObj(c)) return;
      const path = `components.${i}.components.${j}`;
      if (c.type === 2) checkButton(problems, path, c);
      else maxLen(problems, `${path}.custom_id`, c.custom_id, 100);
      if (typeof c.custom_id === 'string') {
        if (ids.has(c.custom_id)) problems.push({ path: `${path}.custom_id`, code: 'COMPONENT_CUSTOM_ID_DUPLICATED', message: 'Component custom id cannot be duplicated' });
        ids.add(c.custom_id);
      }
    });
  });
}

export interface ValidateOptions {
  /** Files uploaded with the request plus attachments kept. */
  attachmentCount: number;
  /** Create (must not be empty) vs edit (only checks the fields sent). */
  requireSomething: boolean;
}

/** Throws Discord's error for an invalid message body. */
export function validateMessageBody(body: Obj, opts: ValidateOptions): void {
  const problems: FieldError[] = [];
  const flags = typeof body.flags === 'number' ? body.flags : 0;
  maxLen(problems, 'content', body.content, 2000);
  checkEmbeds(problems, body.embeds);
  checkComponents(problems, body.components, flags);
  if (body.nonce !== undefined && body.nonce !== null) {
    const ok = (typeof body.nonce === 'string' && body.nonce.length <= 25) || Number.isInteger(body.nonce);
    if (!ok) problems.push({ path: 'nonce', code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 25 or fewer in length.' });
  }
  if (problems.length > 0) throw invalidForm(problems);
  if (!opts.requireSomething) return;
  const hasContent = typeof body.content === 'string' && body.content.trim() !== '';
  const hasEmbeds = Array.isArray(body.embeds) && body.embeds.length > 0;
  const hasComponents = Array.isArray(body.components) && body.components.length > 0;
  const hasStickers = Array.isArray(body.sticker_ids) && body.sticker_ids.length > 0;
  if (!hasContent && !hasEmbeds && !hasComponents && !hasStickers && body.poll === undefined && opts.attachmentCount === 0) {
    throw fail.emptyMessage();
  }
}

/** Users a message pings: `<@id>` in content, narrowed by allowed_mentions. */
export function mentionedUsers(body: Obj, content: string): string[] {
  const found = [...content.matchAll(/<@!?(\d{15,21})>/g)].map((m) => m[1] as string);
  const allowed = isObj(body.allowed_mentions) ? body.allowed_mentions : undefined;
  let ids = found;
  if (allowed) {
    const parse = Array.isArray(allowed.parse) ? allowed.parse : [];
    const users = Array.isArray(allowed.users) ? allowed.users.map(String) : [];
    ids = parse.includes('users') ? found : found.filter((id) => users.includes(id));
  }
  return [...new Set(ids)];
}
