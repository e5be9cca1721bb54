// Application command limits Discord enforces on bulk overwrite (answered with 400 50035).
import { invalidForm } from './errors.js';
import type { FieldError } from './errors.js';

type Obj = Record<string, unknown>;
const NAME = /^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkName(problems: FieldError[], path: string, name: unknown, chatInput: boolean): void {
  const ok = typeof name === 'string' && (chatInput ? NAME.test(name) && name === name.toLowerCase() : name.length >= 1 && name.length <= 32);
  if (!ok) problems.push({ path: `${path}.name`, code: 'APPLICATION_COMMAND_INVALID_NAME', message: `Command name is invalid` });
}

function checkDescription(problems: FieldError[], path: string, description: unknown): void {
  if (typeof description !== 'string' || description.length < 1 || description.length > 100) {
    problems.push({ path: `${path}.description`, code: 'BASE_TYPE_BAD_LENGTH', message: 'Must be between 1 and 100 in length.' });
  }
}

function checkOptions(problems: FieldError[], path: string, options: unknown): void {
  if (options === undefined || options === null) return;
  if (!Array.isArray(options)) return void problems.push({ path, code: 'BASE_TYPE_BAD_TYPE', message: 'Must be an array.' });
  if (options.length > 25) problems.push({ path, code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 25 or fewer in length.' });
  const names = new Set<string>();
  let sawOptional = false;
  options.forEach((o, i) => {
    const p = `${path}.${i}`;
    if (!isObj(o)) return void problems.push({ path: p, code: 'MODEL_TYPE_CONVERT', message: 'Only dictionaries may be used in a ModelType' });
    checkName(problems, p, o.name, true);
    checkDescription(problems, p, o.description);
    if (typeof o.name === 'string') {
      if (names.has(o.name)) problems.push({ path: `${p}.name`, code: 'APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS', message: 'Option names must be unique' });
      names.add(o.name);
    }
    if (o.required === true && sawOptional) {
      problems.push({ path: p, code: 'APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID', message: 'Required options must be placed before non-required options' });
    }
    if (o.required !== true && o.type !== 1 && o.type !== 2) sawOptional = true;
    if (Array.isArray(o.choices) && o.choices.length > 25) {
      problems.push({ path: `${p}.choices`, code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 25 or fewer in length.' });
    }
    if (o.type === 1 || o.type === 2) checkOptions(problems, `${p}.options`, o.options);
  });
}

/**
 * `integration_types` (0 server install, 1 user install) and `contexts` (0 server, 1 bot DM, 2 private channel):
 * null or a non-empty array of distinct known values.
 */
function checkEnumSet(problems: FieldError[], path: string, value: unknown, allowed: readonly number[]): void {
  if (value === undefined || value === null) return;
  if (!Array.isArray(value)) return void problems.push({ path, code: 'BASE_TYPE_BAD_TYPE', message: 'Must be an array.' });
  if (value.length < 1) problems.push({ path, code: 'BASE_TYPE_MIN_LENGTH', message: 'Must be 1 or more in length.' });
  const seen = new Set<unknown>();
  value.forEach((v, i) => {
    if (typeof v !== 'number' || !allowed.includes(v)) {
      problems.push({ path: `${path}.${i}`, code: 'ENUM_TYPE_COERCE', message: `Value "${String(v)}" is not a valid enum value.` });
    } else if (seen.has(v)) {
      problems.push({ path: `${path}.${i}`, code: 'SET_TYPE_ALREADY_CONTAINS_VALUE', message: 'The set already contains this value.' });
    }
    seen.add(v);
  });
}

/** Throws 50035 for an invalid bulk-overwrite body. */
export function validateCommands(commands: unknown[]): void {
  const problems: FieldError[] = [];
  const seen = new Set<string>();
  commands.forEach((c, i) => {
    const path = String(i);
    if (!isObj(c)) return void problems.push({ path, code: 'MODEL_TYPE_CONVERT', message: 'Only dictionaries may be used in a ModelType' });
    const type = typeof c.type === 'number' ? c.type : 1;
    checkName(problems, path, c.name, type === 1);
    if (type === 1) {
      checkDescription(problems, path, c.description);
      checkOptions(problems, `${path}.options`, c.options);
    }
    checkEnumSet(problems, `${path}.integration_types`, c.integration_types, [0, 1]);
    checkEnumSet(problems, `${path}.contexts`, c.contexts, [0, 1, 2]);
    const key = `${type}:${String(c.name)}`;
    if (seen.has(key)) problems.push({ path: `${path}.name`, code: 'APPLICATION_COMMANDS_DUPLICATE_NAME', message: 'Application command names must be unique' });
    seen.add(key);
  });
  if (commands.length > 110) problems.push({ path: '', code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 110 or fewer in length.' });
  if (problems.length > 0) throw invalidForm(problems);
}
