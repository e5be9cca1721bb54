/** `seedance-bot models` (what this configuration can use, derived from the keys present), help and usage errors. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'vitest';
import { DEFAULT_AIMLAPI_KEY, DEFAULT_SEGMIND_KEY } from '../emulator/provider-emulator.js';
import { createWorld, lines, runCli } from './run-cli.js';

/** The model lines (each model prints a name line and an indented details line). */
const modelLines = (stdout: string) => lines(stdout).filter((l) => !l.startsWith(' '));

describe.concurrent('seedance-bot models', () => {
  test('with an AIML API key: lite and pro, text- and image-to-video, and the newer models', async ({ expect, onTestFinished }) => {
    const w = await createWorld();
    onTestFinished(() => w.close());

    const r = await runCli(['models'], w.env({ AIMLAPI_KEY: DEFAULT_AIMLAPI_KEY }));

    expect(r.code).toBe(0);
    expect(modelLines(r.stdout)).toEqual([
      'lite         text       Seedance 1.0 Lite text-to-video (AIML API)',
      'lite         image      Seedance 1.0 Lite image-to-video (AIML API)',
      'pro          text       Seedance 1.0 Pro text-to-video (AIML API)',
      'pro          image      Seedance 1.0 Pro image-to-video (AIML API)',
      'pro-fast     text/image Seedance 1.0 Pro Fast (AIML API)',
      '1.5-pro      text/image Seedance 1.5 Pro (AIML API)',
      '2.0          text/image Seedance 2.0 (AIML API)',
      '2.0-fast     text/image Seedance 2.0 Fast (AIML API)',
      '2.0-mini     text/image Dreamina Seedance 2.0 Mini (AIML API)',
      '2.5          text/image Seedance 2.5 (AIML API)',
      '2.5-dreamina text/image Dreamina Seedance 2.5 (AIML API)',
    ]);
    expect(r.stdout).toContain('480p/720p/1080p · 5 or 10 s');
    // What each newer model takes: lengths, 4k, sound and references.
    expect(r.stdout).toContain('480p/720p/1080p/4k · 4 to 15 s');
    expect(r.stdout).toContain('480p/720p · 4 to 30 s');
    expect(r.stdout).toContain('sound · up to 9 reference images');
    expect(r.stderr).toBe('');
    expect(w.emulator.requests).toHaveLength(0);
  });

  test('with only a Segmind key: just Segmind lite image-to-video', async ({ expect, onTestFinished }) => {
    const w = await createWorld();
    onTestFinished(() => w.close());

    const r = await runCli(['models'], w.env({ SEGMIND_API_KEY: DEFAULT_SEGMIND_KEY }));

    expect(r.code).toBe(0);
    expect(modelLines(r.stdout)).toEqual(['lite         image      Seedance 1.0 Lite image-to-video (Segmind)']);
    expect(r.stdout).toContain('480p/720p ·');
    expect(r.stdout).not.toContain('1080p');
    expect(r.stdout).not.toContain('AIML API');
  });

  test('with no key: one error line naming both variables', async ({ expect, onTestFinished }) => {
    const w = await createWorld();
    onTestFinished(() => w.close());

    const r = await runCli(['models'], w.env());

    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual([expect.stringMatching(/^error: .*AIMLAPI_KEY.*SEGMIND_API_KEY/)]);
    expect(r.stdout).toBe('');
  });

  test('EXTRA_MODELS_FILE adds a model as data', async ({ expect, onTestFinished }) => {
    const w = await createWorld();
    onTestFinished(() => w.close());
    const file = join(w.dataDir, 'extra-models.json');
    const fast = {
      id: 'aimlapi/seedance-1-0-pro-fast-t2v',
      provider: 'aimlapi',
      providerModel: 'bytedance/seedance-1-0-pro-fast',
      label: 'Seedance 1.0 Pro Fast text-to-video (AIML API)',
      alias: 'fast',
      mode: 't2v',
      resolutions: ['480p', '720p', '1080p'],
      defaultResolution: '1080p',
      durations: [5, 10],
      defaultDuration: 5,
      aspectRatios: ['16:9', '9:16'],
      defaultAspectRatio: '16:9',
      lastFrame: false,
      seed: { min: 0, max: 4294967295 },
      watermark: true,
      fixedCamera: true,
      typicalSeconds: 30,
    };
    await writeFile(file, JSON.stringify([fast]));

    const r = await runCli(['models'], w.env({ AIMLAPI_KEY: DEFAULT_AIMLAPI_KEY, EXTRA_MODELS_FILE: file }));

    expect(r.code).toBe(0);
    expect(modelLines(r.stdout)).toHaveLength(12);
    expect(modelLines(r.stdout).at(-1)).toBe('fast         text       Seedance 1.0 Pro Fast text-to-video (AIML API)');
  });

  test('a malformed EXTRA_MODELS_FILE: one error line, not a JSON dump', async ({ expect, onTestFinished }) => {
    const w = await createWorld();
    onTestFinished(() => w.close());
    const file = join(w.dataDir, 'extra-models.json');
    await writeFile(file, JSON.stringify([{ id: 'half-a-model', alias: 'half' }]));

    const r = await runCli(['models'], w.env({ AIMLAPI_KEY: DEFAULT_AIMLAPI_KEY, EXTRA_MODELS_FILE: file }));

    expect(r.code).toBe(1);
    const err = lines(r.stderr);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/^error: /);
    expect(err[0]).toContain('EXTRA_MODELS_FILE');
    expect(err[0]).toContain('0.provider: ');
    expect(r.stdout).toBe('');
  });
});

describe.concurrent('usage', () => {
  for (const args of [['help'], ['--help'], ['generate', '--help'], ['generate', 'a fox', '-h']]) {
    test(`seedance-bot ${args.join(' ')} prints the usage and exits 0`, async ({ expect, onTestFinished }) => {
      const w = await createWorld();
      onTestFinished(() => w.close());

      const r = await runCli(args, w.env({ AIMLAPI_KEY: DEFAULT_AIMLAPI_KEY }));

      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Usage: seedance-bot generate "prompt"/);
      expect(r.stdout).toContain('seedance-bot resume');
      expect(r.stderr).toBe('');
      expect(w.emulator.requests).toHaveLength(0);
    });
  }

  test('no command: usage and exit 2', async ({ expect, onTestFinished }) => {
    const w = await createWorld();
    onTestFinished(() => w.close());

    const r = await runCli([], w.env());

    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^Usage: /);
  });

  test('an unknown command: one error line', async ({ expect, onTestFinished }) => {
    const w = await createWorld();
    onTestFinished(() => w.close());

    const r = await runCli(['render', 'a fox'], w.env({ AIMLAPI_KEY: DEFAULT_AIMLAPI_KEY }));

    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual(['error: unknown command "render"; try generate, resume or models']);
    expect(r.stdout).toBe('');
  });
});
