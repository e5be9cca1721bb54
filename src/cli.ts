#!/usr/bin/env node
/**
 * `seedance-bot generate "prompt" …`: the terminal front end, on exactly the core
 * the chat platforms use. Progress on stderr, the MP4 written to --out, errors as
 * one clear line and a non-zero exit.
 */
import { durationText } from './core/catalogue.js';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { createApp } from './app.js';
import type { App } from './app.js';
import { parseGenerateArgs, GENERATE_USAGE } from './cli-args.js';
import { loadImageArg, loadImageArgs } from './cli-images.js';
import { loadConfig, requireProvider, secretValues } from './config.js';
import type { Config } from './config.js';
import { ConfigError, SeedanceError, UserFacingError, userMessageFor } from './core/errors.js';
import type { JobRecord } from './core/job.js';
import type { GenerationInput } from './core/request.js';
import { loadDotEnv } from './env-file.js';
import { createLogger } from './logging.js';
import { TERMINAL, createTerminalSurface, terminalConversation } from './surfaces/terminal/terminal-surface.js';
import { userInfo } from 'node:os';
import { ZodError } from 'zod';

function oneLine(err: unknown): string {
  if (err instanceof ConfigError) return `error: ${err.problems.join('; ')}`;
  if (err instanceof UserFacingError) return `error: ${err.details.length ? err.details.join('; ') : err.message}`;
  // Not one of ours (a file system, store or EXTRA_MODELS_FILE failure): nothing logged it, so say what it was, on one line.
  if (err instanceof Error && !(err instanceof SeedanceError)) {
    const what = err instanceof ZodError ? err.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).join('; ') : err.message.replace(/\s*\n\s*/g, ' ');
    return `error: ${what}${process.env.DEBUG ? ` (${err.stack})` : ''}`;
  }
  return `error: ${userMessageFor(err)}${err instanceof Error && process.env.DEBUG ? ` (${err.stack})` : ''}`;
}

async function boot(config: Config, quiet: boolean, out: NodeJS.WritableStream = process.stderr): Promise<{ app: App; surface: ReturnType<typeof createTerminalSurface> }> {
  const surface = createTerminalSurface({ out, quiet });
  // The terminal shows progress; the log only speaks up for real trouble unless LOG_LEVEL says otherwise.
  const logger = createLogger(process.env.LOG_LEVEL ? config.LOG_LEVEL : 'error', 2, secretValues(config), { pretty: config.LOG_PRETTY });
  const app = await createApp(config, { logger, surfaces: [surface] });
  return { app, surface };
}

/** Stderr that holds what is written until release(), so a header can go first. */
function heldStderr(): { out: NodeJS.WritableStream; release(): void } {
  let held: string[] | undefined = [];
  const out = { isTTY: process.stderr.isTTY, write: (s: string) => (held ? held.push(s) > 0 : process.stderr.write(s)) };
  return {
    out: out as unknown as NodeJS.WritableStream,
    release() {
      for (const s of held ?? []) process.stderr.write(s);
      held = undefined;
    },
  };
}

/** Refuses an --out that cannot be written before anything is paid for. */
async function checkOutPath(out: string): Promise<void> {
  const bad = (why: string) => new UserFacingError('bad_out', `can't save the video to ${out}: ${why}`);
  if ((await stat(out).catch(() => undefined))?.isDirectory()) throw bad(`it is a directory; name a file such as ${join(out, 'video.mp4')}`);
  let dir = dirname(out);
  let st = await stat(dir).catch(() => undefined);
  while (!st && dirname(dir) !== dir) {
    dir = dirname(dir);
    st = await stat(dir).catch(() => undefined);
  }
  if (!st?.isDirectory()) throw bad(`${dir} is not a directory`);
  if (!(await access(dir, constants.W_OK).then(() => true, () => false))) throw bad(`${dir} is not writable`);
}

/** Only a video saved at its --out path counts as success (a download link is not). */
const savedToFile = (job: JobRecord) => job.status === 'delivered' && job.result?.deliveredAs === 'file';

function waitFor(app: App, done: (job: JobRecord) => boolean): { promise: Promise<JobRecord[]>; off: () => void } {
  const finished: JobRecord[] = [];
  let off = () => {};
  const promise = new Promise<JobRecord[]>((res) => {
    off = app.service.onEvent((e) => {
      if (e.type !== 'finished') return;
      finished.push(e.job);
      if (done(e.job)) res(finished);
    });
  });
  return { promise, off };
}

async function generate(argv: string[]): Promise<number> {
  const flags = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
  if (flags.includes('--help') || flags.includes('-h')) {
    process.stdout.write(`${GENERATE_USAGE}\n`);
    return 0;
  }
  const args = parseGenerateArgs(argv);
  const config = loadConfig(process.env);
  requireProvider(config);
  const out = resolve(args.out ?? `seedance-${new Date().toISOString().replace(/[:.]/g, '-')}.mp4`);
  await checkOutPath(out);
  const { app } = await boot(config, args.quiet);
  let jobId: string | undefined;
  let submitted = false;
  const onSigint = async () => {
    if (!submitted) {
      // No job exists yet, so there is nothing to keep; don't wait for an image download to time out.
      process.stderr.write('\nStopped; nothing was submitted.\n');
      process.exit(130);
    }
    process.stderr.write(`\nStopped watching. The job stays in ${config.DATA_DIR}; run "seedance-bot resume" to fetch the video.\n`);
    await app.close();
    process.exit(130);
  };
  process.once('SIGINT', () => void onSigint());
  try {
    const input: GenerationInput = {
      prompt: args.prompt,
      model: args.model,
      resolution: args.resolution,
      duration: args.duration,
      aspectRatio: args.ratio,
      seed: args.seed,
      fixedCamera: args.fixedCamera || undefined,
      watermark: args.watermark || undefined,
      image: args.image ? await loadImageArg(args.image, 'image', app.dispatcher) : undefined,
      lastFrame: args.lastFrame ? await loadImageArg(args.lastFrame, 'last frame', app.dispatcher) : undefined,
      ...(args.audio !== undefined ? { audio: args.audio } : {}),
      ...(args.refs.length ? { references: await loadImageArgs(args.refs, app.dispatcher) } : {}),
      ...(args.refVideos.length ? { referenceVideos: args.refVideos } : {}),
      ...(args.refAudios.length ? { referenceAudios: args.refAudios } : {}),
    };
    await app.service.start({ resume: false });
    const wait = waitFor(app, (job) => job.id === jobId);
    submitted = true;
    const user = userInfo().username || 'local';
    // The same use case as every chat platform; the terminal has no place, so only the bot-wide limits apply.
    const job = await app.useCases.start({
      actor: { surface: TERMINAL, userId: user, canModerate: async () => false, canAdminister: async () => false },
      where: { channelId: 'terminal' },
      input,
      conversation: terminalConversation(out),
    });
    jobId = job.id;
    const finished = (await wait.promise).find((j) => j.id === jobId)!;
    return savedToFile(finished) ? 0 : 1;
  } finally {
    await app.close();
  }
}

async function resumeJobs(): Promise<number> {
  const config = loadConfig(process.env);
  requireProvider(config);
  // A job can end while start() takes it over (an interrupted submit): hold its line until the header is out.
  const held = heldStderr();
  const { app } = await boot(config, false, held.out);
  try {
    const wait = waitFor(app, () => app.service.activeCount() === 0);
    const n = await app.service.start();
    if (n === 0) {
      process.stderr.write('Nothing to resume.\n');
      return 0;
    }
    process.stderr.write(`Resuming ${n} job${n === 1 ? '' : 's'}…\n`);
    held.release();
    const finished = await wait.promise;
    return finished.every(savedToFile) ? 0 : 1;
  } finally {
    held.release();
    await app.close();
  }
}

async function models(): Promise<number> {
  const config = loadConfig(process.env);
  requireProvider(config);
  const { app } = await boot(config, true);
  try {
    for (const m of app.catalogue.models) {
      const refs = m.references;
      const extras = [
        m.aspectRatios.length ? `ratios ${m.aspectRatios.join(' ')}` : m.mode === 'i2v' ? 'ratio from image' : 'no ratio choice (an image sets the shape)',
        m.lastFrame ? 'last frame' : '',
        m.audio ? 'sound' : 'no sound',
        refs.images ? `up to ${refs.images} reference images` : '',
        refs.videos ? `${refs.videos} reference videos` : '',
        refs.audios ? `${refs.audios} reference sound files` : '',
        m.fixedCamera ? 'fixed camera' : '',
        `seed ${m.seed.min}..${m.seed.max}`,
      ].filter(Boolean);
      const mode = m.mode === 'any' ? 'text/image' : m.mode === 't2v' ? 'text' : 'image';
      process.stdout.write(`${m.alias.padEnd(12)} ${mode.padEnd(10)} ${m.label}\n      ${m.resolutions.join('/')} · ${durationText(m)} s · ${extras.join(' · ')}\n`);
    }
    return 0;
  } finally {
    await app.close();
  }
}

async function main(argv: string[]): Promise<number> {
  loadDotEnv();
  const [command, ...rest] = argv;
  switch (command) {
    case 'generate':
      return generate(rest);
    case 'resume':
      return resumeJobs();
    case 'models':
      return models();
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(`${GENERATE_USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      throw new UserFacingError('bad_arguments', `unknown command "${command}"; try generate, resume or models`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${oneLine(err)}\n`);
    process.exit(1);
  },
);
