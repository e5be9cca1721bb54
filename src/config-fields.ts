/**
 * The zod field builders every configuration key is made of: the base schema in
 * config.ts and each provider plugin's own keys (src/providers/<name>/index.ts).
 * Empty strings count as unset, so `KEY=` in `.env` means "use the default".
 */
import { z } from 'zod';

export const emptyToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

/** An optional, trimmed, non-empty string. */
export const str = () => z.preprocess(emptyToUndefined, z.string().trim().min(1).optional());

/** An http(s) URL with a default. */
export const url = (def: string) =>
  z.preprocess(
    emptyToUndefined,
    z
      .string()
      .url('must be a URL such as https://example.com')
      .refine((u) => /^https?:/.test(u), 'must be an http(s) URL')
      .default(def),
  );

/** A whole number in [min, max] with a default. */
export const int = (def: number, min: number, max: number) =>
  z.preprocess(emptyToUndefined, z.coerce.number({ error: 'must be a whole number' }).int('must be a whole number').min(min, `must be at least ${min}`).max(max, `must be at most ${max}`).default(def));

/** true/false, 1/0 or yes/no, with a default. */
export const bool = (def: boolean) =>
  z.preprocess(
    emptyToUndefined,
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
      .default(def ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  );

/** true/false, 1/0 or yes/no; `undefined` when unset, so the caller picks the default (e.g. from the terminal). */
export const optionalBool = () =>
  z.preprocess(
    emptyToUndefined,
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
      .optional()
      .transform((v) => (v === undefined ? undefined : v === 'true' || v === '1' || v === 'yes')),
  );

/** `auto`, or a whole number in [min, max]; `auto` when unset. */
export const autoOrInt = (min: number, max: number) =>
  z.preprocess(
    emptyToUndefined,
    z
      .string()
      .trim()
      .toLowerCase()
      .default('auto')
      .transform((v, ctx): 'auto' | number => {
        if (v === 'auto') return 'auto';
        if (/^\d+$/.test(v) && Number(v) >= min && Number(v) <= max) return Number(v);
        ctx.addIssue({ code: 'custom', message: `must be auto or a whole number from ${min} to ${max}` });
        return z.NEVER;
      }),
  );

/** A comma-separated list of distinct whole numbers in [min, max]; `undefined` when unset. */
export const intList = (min: number, max: number) =>
  z.preprocess(
    emptyToUndefined,
    z
      .string()
      .optional()
      .transform((v, ctx) => {
        const items = (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
        if (!items.length) return undefined;
        const bad = items.filter((s) => !/^\d+$/.test(s) || Number(s) < min || Number(s) > max);
        const nums = items.map(Number);
        const twice = [...new Set(nums.filter((n, i) => nums.indexOf(n) !== i))];
        if (bad.length) ctx.addIssue({ code: 'custom', message: `${bad.join(', ')} ${bad.length === 1 ? 'is' : 'are'} not a whole number from ${min} to ${max}` });
        else if (twice.length) ctx.addIssue({ code: 'custom', message: `${twice.join(', ')} ${twice.length === 1 ? 'is' : 'are'} listed more than once` });
        return bad.length || twice.length ? z.NEVER : nums;
      }),
  );

/** A comma-separated list (trimmed, empty items dropped), `[]` when unset. */
export const list = (lower = false) =>
  z.preprocess(
    emptyToUndefined,
    z
      .string()
      .default('')
      .transform((v) => v.split(',').map((h) => (lower ? h.trim().toLowerCase() : h.trim())).filter(Boolean)),
  );
