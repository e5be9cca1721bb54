/** Parses `seedance-bot generate …` flags into a GenerationInput-shaped object. */
import { parseArgs } from 'node:util';
import { RESOLUTIONS } from './core/catalogue.js';
import { UserFacingError } from './core/errors.js';
import { BUILTIN_MODELS } from './providers/index.js';
import { lengthsByModel } from './surfaces/common/model-facts.js';

export interface GenerateArgs {
  prompt: string;
  image?: string;
  lastFrame?: string;
  model?: string;
  resolution?: string;
  duration?: string;
  ratio?: string;
  seed?: string;
  fixedCamera: boolean;
  watermark: boolean;
  /** --audio / --no-audio; unset: sound where the model makes it. */
  audio?: boolean;
  /** --ref, in order (@Image1, @Image2…): paths or URLs, loaded like --image. */
  refs: string[];
  refVideos: string[];
  refAudios: string[];
  out?: string;
  quiet: boolean;
}

const aliasesWhere = (able: (m: (typeof BUILTIN_MODELS)[number]) => boolean) => [...new Set(BUILTIN_MODELS.filter(able).map((m) => m.alias))].join(', ');
const ALIASES = aliasesWhere(() => true);

export const GENERATE_USAGE = `Usage: seedance-bot generate "prompt" [--image path|url] [--last-frame path|url]
         [--model NAME] [--resolution ${RESOLUTIONS.join('|')}] [--duration SECONDS]
         [--ratio 16:9|4:3|1:1|3:4|9:16|21:9|9:21|adaptive] [--seed N] [--fixed-camera]
         [--audio | --no-audio] [--ref path|url]... [--ref-video url]... [--ref-audio url]...
         [--watermark] [--out file.mp4] [--quiet]
       seedance-bot resume     finish terminal jobs a previous run left behind
       seedance-bot models     list the models this configuration can use, with what each takes

  --model      ${ALIASES}
  --duration   ${lengthsByModel(BUILTIN_MODELS)} (seconds)
  --audio      sound, the default where the model makes it (${aliasesWhere((m) => m.audio)}); --no-audio: silent
  --ref        a reference image (path or URL), @Image1, @Image2… in the prompt; repeat it
               (${aliasesWhere((m) => m.references.images > 0)}; not with --image)
  --ref-video  a reference video link (MP4/MOV), @Video1…; --ref-audio a sound link (MP3/WAV), @Audio1…`;

export function parseGenerateArgs(argv: string[]): GenerateArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        image: { type: 'string', short: 'i' },
        'last-frame': { type: 'string' },
        model: { type: 'string', short: 'm' },
        resolution: { type: 'string', short: 'r' },
        duration: { type: 'string', short: 'd' },
        ratio: { type: 'string' },
        'aspect-ratio': { type: 'string' },
        seed: { type: 'string', short: 's' },
        'fixed-camera': { type: 'boolean', default: false },
        watermark: { type: 'boolean', default: false },
        audio: { type: 'boolean' },
        'no-audio': { type: 'boolean' },
        ref: { type: 'string', multiple: true },
        'ref-video': { type: 'string', multiple: true },
        'ref-audio': { type: 'string', multiple: true },
        out: { type: 'string', short: 'o' },
        quiet: { type: 'boolean', short: 'q', default: false },
      },
    });
  } catch (err) {
    const first = (err as Error).message.split('\n')[0] ?? 'bad arguments';
    const hint = /ambiguous/.test(first) ? ' (write values that start with "-" as --flag=-value)' : '';
    throw new UserFacingError('bad_arguments', `${first}${hint}`);
  }
  const v = parsed.values;
  const prompt = parsed.positionals.join(' ').trim();
  if (!prompt) throw new UserFacingError('bad_arguments', 'a prompt is required, e.g. seedance-bot generate "a fox running through snow"');
  if (v.audio && v['no-audio']) throw new UserFacingError('bad_arguments', 'give --audio or --no-audio, not both');
  return {
    prompt,
    image: v.image,
    lastFrame: v['last-frame'],
    model: v.model,
    resolution: v.resolution,
    duration: v.duration,
    ratio: v.ratio ?? v['aspect-ratio'],
    seed: v.seed,
    fixedCamera: v['fixed-camera'] ?? false,
    watermark: v.watermark ?? false,
    ...(v.audio ? { audio: true } : v['no-audio'] ? { audio: false } : {}),
    refs: v.ref ?? [],
    refVideos: v['ref-video'] ?? [],
    refAudios: v['ref-audio'] ?? [],
    out: v.out,
    quiet: v.quiet ?? false,
  };
}
