/** Facts about the models in words, for hints and usage text, derived from the catalogue. */
import type { ModelSpec } from '../../core/catalogue.js';
import { durationText } from '../../core/catalogue.js';

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
