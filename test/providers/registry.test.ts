// Providers register themselves: a third, test-only provider is added here, in the
// test, with its own models, label, config key and factory, and the unchanged app
// (config, catalogue, job service, logger, terminal surface) uses it end to end.
// Nothing under src/ knows "testprov".
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { App } from '../../src/app.js';
import { createApp, loadCatalogue } from '../../src/app.js';
import { emptyToUndefined, str } from '../../src/config-fields.js';
import { SECRET_PATHS, loadConfig, requireProvider, secretPaths, secretValues } from '../../src/config.js';
import type { ModelSpec } from '../../src/core/catalogue.js';
import { modelSpecSchema } from '../../src/core/catalogue.js';
import { ConfigError, ProviderError, ValidationError, providerLabel, userMessageFor } from '../../src/core/errors.js';
import type { JobRecord } from '../../src/core/job.js';
import type { ProviderRequest, ProviderStatus, VideoProvider } from '../../src/core/ports.js';
import { createLogger } from '../../src/logging.js';
import { BUILTIN_MODELS, BUILTIN_PROVIDERS } from '../../src/providers/index.js';
import { defineProvider, defineRegistry } from '../../src/providers/registry.js';
import { TERMINAL, createTerminalSurface, terminalConversation } from '../../src/surfaces/terminal/terminal-surface.js';
import { rejectionOf } from '../helpers/rejection.js';

/** The ConfigError a synchronous call throws. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const TESTPROV_KEY = 'tp-live-5f0c1d2e3a4b5c6d7e8f';
const VIDEO = Buffer.from('not really an mp4, but bytes all the same');

function model(alias: string, over: Partial<ModelSpec> = {}): ModelSpec {
  return modelSpecSchema.parse({
    id: `testprov/${alias}-t2v`,
    provider: 'testprov',
    providerModel: `studio-${alias}`,
    label: `Studio ${alias} text-to-video (Test Studio)`,
    alias,
    mode: 't2v',
    resolutions: ['480p', '720p'],
    defaultResolution: '720p',
    durations: [4, 8],
    defaultDuration: 4,
    aspectRatios: ['16:9', '1:1'],
    defaultAspectRatio: '16:9',
    lastFrame: false,
    seed: { min: 1, max: 99 },
    watermark: false,
    fixedCamera: false,
    fixedCameraField: 'camera_fixed',
    typicalSeconds: 1,
    ...over,
  });
}

/** What the in-memory studio saw, and the failure to throw next. */
const studio = { starts: [] as ProviderRequest[], keys: [] as string[], failNext: false, thrown: [] as Error[] };

/** An in-memory provider: renders instantly into the job's work dir, or runs out of credits. */
function studioProvider(apiKey: string, style: string): VideoProvider {
  return {
    name: 'testprov',
    async start(req, ctx) {
      studio.starts.push(req);
      studio.keys.push(apiKey);
      if (studio.failNext) {
        studio.failNext = false;
        // A careless provider puts the key in its error text: the logs must still not show it.
        const err = new ProviderError('out_of_credits', `account for key ${apiKey} has no credits left`, { provider: 'testprov', status: 402, notCreated: true, retryable: false });
        studio.thrown.push(err);
        throw err;
      }
      const operation = { provider: 'testprov', id: `tp-${studio.starts.length}`, style };
      return { operation, status: await render(ctx.jobId, ctx.workDir) };
    },
    async status(_op, ctx): Promise<ProviderStatus> {
      return render(ctx.jobId, ctx.workDir);
    },
  };
}

async function render(jobId: string, workDir: string): Promise<ProviderStatus> {
  const dir = join(workDir, 'videos');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${jobId}.mp4`);
  writeFileSync(path, VIDEO);
  return { state: 'completed', providerStatus: 'done', video: { kind: 'file', path, bytes: VIDEO.byteLength }, creditsUsed: 3 };
}

/** The third provider: everything about it lives here, in the test. */
const testprov = defineProvider({
  name: 'testprov',
  label: 'Test Studio',
  configShape: {
    TESTPROV_KEY: str(),
    TESTPROV_STYLE: z.preprocess(emptyToUndefined, z.enum(['ink', 'oil']).default('ink')),
  },
  secretKeys: ['TESTPROV_KEY'],
  describe: 'TESTPROV_KEY (sketch text-to-video)',
  models: [model('sketch'), model('lite', { id: 'testprov/lite-t2v', label: 'Studio lite (Test Studio)' })],
  configured: (c) => Boolean(c.TESTPROV_KEY),
  create: (c) => studioProvider(c.TESTPROV_KEY!, c.TESTPROV_STYLE),
});

const registry = defineRegistry([...BUILTIN_PROVIDERS, testprov]);

const apps: App[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  studio.starts.length = 0;
  studio.keys.length = 0;
  studio.failNext = false;
  studio.thrown.length = 0;
});

function env(over: Record<string, string> = {}): Record<string, string> {
  return { STORE_URL: 'memory:', DATA_DIR: mkdtempSync(join(tmpdir(), 'registry-')), ...over };
}

function logSink() {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return { sink, text: async () => (await new Promise((r) => setImmediate(r)), chunks.join('')) };
}

/** The unchanged app with the three-provider registry, a logger and the terminal surface. */
async function boot(e: Record<string, string>) {
  const config = loadConfig(e, registry);
  requireProvider(config, registry);
  const log = logSink();
  const logger = createLogger('debug', log.sink, secretValues(config, registry));
  const out = new PassThrough();
  let shown = '';
  out.on('data', (c: Buffer) => (shown += c.toString()));
  const surface = createTerminalSurface({ out });
  const app = await createApp(config, { registry, logger, surfaces: [surface] });
  apps.push(app);
  await app.service.start({ resume: false });
  logger.info({ config }, 'started');
  const finished = (id: string) =>
    new Promise<JobRecord>((resolve) => {
      const off = app.service.onEvent((ev) => {
        if (ev.type === 'finished' && ev.job.id === id) {
          off();
          resolve(ev.job);
        }
      });
    });
  const submit = async (input: { prompt: string; model?: string; seed?: number }, outPath: string) => {
    const { job } = await app.service.submit({ input, surface: TERMINAL, conversation: terminalConversation(outPath), requester: { id: 'tester' } });
    return job;
  };
  return { app, config, logger, logs: log.text, shown: () => shown, surface, submit, finished };
}

describe('provider registry', () => {
  it('the built-in registry is AIML API then Segmind, and owns the catalogue entries the core used to', () => {
    expect(BUILTIN_PROVIDERS.map((p) => [p.name, p.label])).toEqual([
      ['aimlapi', 'AIML API'],
      ['segmind', 'Segmind'],
    ]);
    expect(BUILTIN_MODELS.map((m) => m.id)).toEqual([
      'aimlapi/seedance-1-0-lite-t2v',
      'aimlapi/seedance-1-0-lite-i2v',
      'aimlapi/seedance-1-0-pro-t2v',
      'aimlapi/seedance-1-0-pro-i2v',
      'aimlapi/seedance-1-0-pro-fast',
      'aimlapi/seedance-1-5-pro',
      'aimlapi/seedance-2-0',
      'aimlapi/seedance-2-0-fast',
      'aimlapi/dreamina-seedance-2-0-mini',
      'aimlapi/seedance-2-5',
      'aimlapi/dreamina-seedance-2-5',
      'segmind/seedance-v1-lite-image-to-video',
    ]);
    expect(SECRET_PATHS).toEqual(expect.arrayContaining(['AIMLAPI_KEY', 'SEGMIND_API_KEY', 'config.AIMLAPI_KEY', 'config.SEGMIND_API_KEY', 'DISCORD_TOKEN']));
    expect(SECRET_PATHS).not.toContain('TESTPROV_KEY');
  });

  it('refuses a registry with clashing names, keys or models', () => {
    expect(() => defineRegistry([...BUILTIN_PROVIDERS, { ...testprov, name: 'aimlapi', models: [] }])).toThrow('two providers are named "aimlapi"');
    expect(() => defineRegistry([testprov, { ...testprov, name: 'other', models: [] }])).toThrow('config key TESTPROV_KEY is claimed by both testprov and other');
    expect(() => defineRegistry([{ ...testprov, models: [model('x', { provider: 'aimlapi' })] }])).toThrow('model testprov/x-t2v names provider "aimlapi"');
    expect(() => loadConfig({}, [{ ...testprov, configShape: { ...testprov.configShape, DATA_DIR: str() } }])).toThrow('clash with the base config: DATA_DIR');
  });

  it('loadConfig takes the third provider’s keys, with defaults, and requireProvider offers its key', () => {
    const config = loadConfig({ TESTPROV_KEY, TESTPROV_STYLE: 'oil' }, registry);
    expect(config.TESTPROV_KEY).toBe(TESTPROV_KEY);
    expect(config.TESTPROV_STYLE).toBe('oil');
    expect(config.AIMLAPI_BASE_URL).toBe('https://api.aimlapi.com');
    expect(loadConfig({ TESTPROV_KEY }, registry).TESTPROV_STYLE).toBe('ink');
    expect(() => requireProvider(config, registry)).not.toThrow();
    // The built-in registry does not know it: the key alone configures nothing.
    expect(() => requireProvider(loadConfig({ TESTPROV_KEY }))).toThrow(ConfigError);

    const problems = configError(() => loadConfig({ TESTPROV_STYLE: 'crayon', LITE_I2V_PROVIDER: 'nobody', PROVIDER_PREFERENCE: 'testprov, ghost' }, registry)).problems.join('\n');
    expect(problems).toContain('TESTPROV_STYLE');
    expect(problems).toContain('LITE_I2V_PROVIDER: must be one of aimlapi, segmind, testprov');
    expect(problems).toContain('PROVIDER_PREFERENCE: ghost is not a provider');

    const none = configError(() => requireProvider(loadConfig({}, registry), registry));
    expect(none.problems).toEqual([
      'set AIMLAPI_KEY (Seedance 1.0, 1.5 and 2.x), SEGMIND_API_KEY (lite image-to-video) or TESTPROV_KEY (sketch text-to-video), in the environment or in .env',
    ]);
  });

  it('the catalogue holds its models, limited to configured providers and in preference order', async () => {
    const only = await loadCatalogue(loadConfig({ TESTPROV_KEY }, registry), { registry });
    expect(only.models.map((m) => m.id)).toEqual(['testprov/sketch-t2v', 'testprov/lite-t2v']);
    expect(only.aliases()).toEqual(['sketch', 'lite']);

    const both = { TESTPROV_KEY, AIMLAPI_KEY: 'sk-aiml-0123456789' };
    expect((await loadCatalogue(loadConfig(both, registry), { registry })).pick('lite', 't2v')?.provider).toBe('aimlapi');
    expect((await loadCatalogue(loadConfig({ ...both, PROVIDER_PREFERENCE: 'testprov' }, registry), { registry })).pick('lite', 't2v')?.provider).toBe('testprov');
    // The older key still works, and any registered provider may be named in it.
    expect((await loadCatalogue(loadConfig({ ...both, LITE_I2V_PROVIDER: 'testprov' }, registry), { registry })).pick('lite', 't2v')?.provider).toBe('testprov');
    expect((await loadCatalogue(loadConfig({ ...both, AIMLAPI_KEY: '' }, registry), { registry })).byId('aimlapi/seedance-1-0-pro-t2v')).toBeDefined();
  });

  it('a job with its alias is created at the third provider and delivered through the unchanged app', async () => {
    const w = await boot(env({ TESTPROV_KEY, TESTPROV_STYLE: 'oil' }));
    expect(w.app.catalogue.aliases()).toEqual(['sketch', 'lite']);
    const outPath = join(mkdtempSync(join(tmpdir(), 'registry-out-')), 'sketch.mp4');
    const job = await w.submit({ prompt: 'a heron in ink', model: 'sketch', seed: 7 }, outPath);
    expect(job.provider).toBe('testprov');
    const done = await w.finished(job.id);

    expect(done).toMatchObject({ status: 'delivered', provider: 'testprov', operation: { provider: 'testprov', id: 'tp-1', style: 'oil' }, result: { deliveredAs: 'file' } });
    expect(studio.keys).toEqual([TESTPROV_KEY]);
    expect(studio.starts[0]).toMatchObject({ modelId: 'testprov/sketch-t2v', model: { providerModel: 'studio-sketch' }, prompt: 'a heron in ink', resolution: '720p', duration: 4, seed: 7 });
    expect(readFileSync(outPath)).toEqual(VIDEO);
    expect(w.shown()).toContain(`Saved ${outPath}`);
  });

  it('its label is what users read, in validation and provider errors, and its key never reaches a log', async () => {
    const w = await boot(env({ TESTPROV_KEY }));
    expect(providerLabel('testprov')).toBe('Test Studio');

    const invalid = await rejectionOf(w.submit({ prompt: 'x', model: 'sketch', seed: 500 }, join(tmpdir(), 'never.mp4')), ValidationError);
    expect(userMessageFor(invalid)).toBe('seed must be 1..99 on Test Studio');

    studio.failNext = true;
    const outPath = join(mkdtempSync(join(tmpdir(), 'registry-out-')), 'broke.mp4');
    const job = await w.submit({ prompt: 'a heron in ink', model: 'sketch' }, outPath);
    const failed = await w.finished(job.id);
    const told = "The bot's Test Studio account is out of credits. Ask the bot's operator to top it up.";
    expect(failed.status).toBe('failed');
    expect(w.shown()).toContain(told);

    // Whatever carries the key into a log line (its error, free text, a field), the line masks it.
    w.logger.error({ err: studio.thrown[0], key: TESTPROV_KEY, env: { TESTPROV_KEY } }, `Test Studio refused key ${TESTPROV_KEY}`);
    const logs = await w.logs();
    expect(logs).toContain('"msg":"started"');
    expect(logs).toContain('"code":"out_of_credits","msg":"job ended"');
    expect(logs).toContain('has no credits left');
    expect(logs).toContain('Test Studio refused key ***');
    expect(logs).not.toContain(TESTPROV_KEY);
    expect(secretValues(w.config, registry)).toContain(TESTPROV_KEY);
    expect(secretPaths(registry)).toEqual(expect.arrayContaining(['TESTPROV_KEY', 'config.TESTPROV_KEY']));
  });
});
