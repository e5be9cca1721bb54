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

/** A comma-separated list (trimmed, empty items dropped), `[]` when unset. */
export const list = (lower = false) =>
  z.preprocess(
    emptyToUndefined,
    z
      .string()
      .default('')
      .transform((v) => v.split(',').map((h) => (lower ? h.trim().toLowerCase() : h.trim())).filter(Boolean)),
  );
