/** Facts about the models in words, for hints and usage text, derived from the catalogue. */
import type { Catalogue, ModelSpec } from '../../core/catalogue.js';
import { RESOLUTIONS, durationText } from '../../core/catalogue.js';

/** Each model's clip lengths: "lite, pro: 5 or 10 · 2.0, 2.0-fast: 4 to 15". */
export function lengthsByModel(models: readonly Pick<ModelSpec, 'alias' | 'durations'>[]): string {
  const byText = new Map<string, string[]>();
  for (const m of models) {
    const text = durationText(m);
    const aliases = byText.get(text) ?? [];
    if (!aliases.includes(m.alias)) aliases.push(m.alias);
    byText.set(text, aliases);
  }
  return [...byText].map(([text, aliases]) => `${aliases.join(', ')}: ${text}`).join(' · ');
}

/**
 * A model alias with what it makes, for pickers (Discord choices take 100 characters, Slack
 * options 75): "2.5 · up to 720p · 4 to 30 s · sound · references".
 */
export function modelChoiceName(cat: Pick<Catalogue, 'models'>, alias: string): string {
  const ms = cat.models.filter((m) => m.alias === alias);
  if (!ms.length) return alias;
  const top = RESOLUTIONS.filter((r) => ms.some((m) => m.resolutions.includes(r))).at(-1);
  const parts = [alias, `up to ${top}`, `${durationText(ms[0]!)} s`];
  if (ms.some((m) => m.audio)) parts.push('sound');
  if (ms.some((m) => m.references.images > 0)) parts.push('references');
  return parts.join(' · ').slice(0, 75);
}
