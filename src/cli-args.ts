/** Parses `seedance-bot generate …` flags into a GenerationInput-shaped object. */
import { parseArgs } from 'node:util';
import { UserFacingError } from './core/errors.js';

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
  out?: string;
  quiet: boolean;
}

export const GENERATE_USAGE = `Usage: seedance-bot generate "prompt" [--image path|url] [--last-frame path|url]
         [--model lite|pro] [--resolution 480p|720p|1080p] [--duration 5|10]
         [--ratio 16:9|4:3|1:1|3:4|9:16|21:9|9:21] [--seed N] [--fixed-camera]
         [--watermark] [--out file.mp4] [--quiet]
       seedance-bot resume     finish terminal jobs a previous run left behind
       seedance-bot models     list the models this configuration can use`;

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
    out: v.out,
    quiet: v.quiet ?? false,
  };
}
