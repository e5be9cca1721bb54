/**
 * Inline options in chat text: `a fox in snow --ratio 9:16 --seed 42 --pro --fixed`.
 * Shared by every chat platform. Unknown flags are reported, never silently dropped.
 * Model aliases are flags of their own (`--2.0`, `--1.5-pro`), so names may hold dots.
 */
import type { GenerationInput } from '../../core/request.js';

export interface ParsedText {
  prompt: string;
  options: Omit<GenerationInput, 'prompt' | 'image' | 'lastFrame' | 'references' | 'referenceVideos' | 'referenceAudios'>;
  problems: string[];
}

const SOUND_ON = ['audio', 'sound'];
const SOUND_OFF = ['no-audio', 'no-sound', 'mute', 'silent'];

const VALUE_FLAGS: Record<string, keyof ParsedText['options']> = {
  ratio: 'aspectRatio',
  ar: 'aspectRatio',
  aspect: 'aspectRatio',
  'aspect-ratio': 'aspectRatio',
  seed: 'seed',
  model: 'model',
  m: 'model',
  res: 'resolution',
  resolution: 'resolution',
  duration: 'duration',
  d: 'duration',
};

export function parseInlineFlags(text: string, aliases: readonly string[]): ParsedText {
  const options: ParsedText['options'] = {};
  const problems: string[] = [];
  const words: string[] = [];
  const tokens = text.split(/(\s+)/);
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i]!;
    const m = /^(?:--|—)([a-z0-9:.-]+)(?:=(.*))?$/i.exec(tok);
    if (!m) {
      words.push(tok);
      continue;
    }
    const name = m[1]!.toLowerCase();
    const takeValue = () => {
      if (m[2] !== undefined) return m[2];
      // skip the whitespace token, take the next word
      const v = tokens[i + 2];
      if (v === undefined || v.startsWith('--')) return undefined;
      i += 2;
      return v;
    };
    if (name in VALUE_FLAGS) {
      const value = takeValue();
      if (value === undefined) problems.push(`--${name} needs a value`);
      else (options as Record<string, unknown>)[VALUE_FLAGS[name]!] = value;
    } else if (aliases.includes(name)) options.model = name;
    else if (name === 'fixed' || name === 'fixed-camera') options.fixedCamera = true;
    else if (name === 'watermark') options.watermark = true;
    else if (SOUND_ON.includes(name)) options.audio = true;
    else if (SOUND_OFF.includes(name)) options.audio = false;
    else if (name === '4k' || name === '2160p') options.resolution = '4k';
    else if (/^\d{3,4}p?$/.test(name)) options.resolution = name.endsWith('p') ? name : `${name}p`;
    else if (/^\d+s$/.test(name)) options.duration = name;
    else if (/^\d+:\d+$/.test(name)) options.aspectRatio = name;
    else problems.push(`unknown option --${name}`);
  }
  return { prompt: words.join('').replace(/\s+/g, ' ').trim(), options, problems };
}
