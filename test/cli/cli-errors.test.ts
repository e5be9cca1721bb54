/**
 * `seedance-bot generate` when things are wrong: bad input is refused before
 * anything is sent (one "error:" line, exit 1); provider trouble ends the job
 * with a clear line and exit 1, without leaking the key.
 */
import { access } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { describe, test } from 'vitest';
import { DEFAULT_AIMLAPI_KEY, DEFAULT_SEGMIND_KEY } from '../emulator/provider-emulator.js';
import { FIXTURES, createWorld, lines, runCli } from './run-cli.js';

const RED_PNG = join(FIXTURES, 'red-320.png');
const SMALL_PNG = join(FIXTURES, 'blue-100.png');
const VIDEO = join(FIXTURES, 'tiny.mp4');
const AIML: Record<string, string> = { AIMLAPI_KEY: DEFAULT_AIMLAPI_KEY };
const SEGMIND: Record<string, string> = { SEGMIND_API_KEY: DEFAULT_SEGMIND_KEY };

const exists = (path: string) => access(path).then(() => true, () => false);

interface BadInput {
  name: string;
  /** `--out <DATA_DIR>/never.mp4` is added unless the case has its own --out. */
  args: string[];
  keys: Record<string, string>;
  message: string | RegExp;
}

/** A path below a regular file: nothing can be created there. */
const UNDER_A_FILE = join(VIDEO, 'sub');

const BAD_INPUT: BadInput[] = [
  { name: '--ratio with --image', args: ['a fox', '--image', RED_PNG, '--ratio', '16:9'], keys: AIML, message: 'aspect ratio is decided by the image when you give a first frame' },
  { name: 'an image below 300 px', args: ['a fox', '--image', SMALL_PNG], keys: AIML, message: 'the image is 100x100 px; each side must be 300–6000 px' },
  { name: 'a file that is not an image', args: ['a fox', '--image', VIDEO], keys: AIML, message: "the first frame isn't a supported image" },
  { name: 'an image file that does not exist', args: ['a fox', '--image', join(FIXTURES, 'no-such-file.png')], keys: AIML, message: 'does not exist' },
  { name: '--last-frame without --image', args: ['a fox', '--last-frame', RED_PNG, '--model', 'pro'], keys: AIML, message: 'a last frame needs a first frame' },
  { name: 'an unknown --model', args: ['a fox', '--model', 'ultra'], keys: AIML, message: 'unknown model "ultra"; choose lite, pro, pro-fast, 1.5-pro, 2.0, 2.0-fast, 2.0-mini, 2.5 or 2.5-dreamina' },
  { name: 'no prompt', args: ['--model', 'lite'], keys: AIML, message: 'a prompt is required' },
  { name: 'an unknown flag', args: ['a fox', '--colour', 'red'], keys: AIML, message: /--colour/ },
  { name: '--duration 7', args: ['a fox', '--duration', '7'], keys: AIML, message: 'lite makes 5 or 10 s clips' },
  { name: '--ratio 2:1', args: ['a fox', '--ratio', '2:1'], keys: AIML, message: 'aspect ratio must be 16:9, 4:3, 1:1, 3:4, 9:16, 21:9 or 9:21' },
  { name: 'text-to-video with only a Segmind key', args: ['a fox'], keys: SEGMIND, message: /lite text-to-video needs an? AIML API key/ },
  { name: '1080p on Segmind', args: ['a fox', '--image', RED_PNG, '--resolution', '1080p'], keys: SEGMIND, message: 'Segmind renders at most 720p' },
  { name: '--seed=0 on Segmind', args: ['a fox', '--image', RED_PNG, '--seed=0'], keys: SEGMIND, message: 'seed must be 1..999999 on Segmind' },
  { name: '2.0-fast at 1080p', args: ['a fox', '--model', '2.0-fast', '--resolution', '1080p'], keys: AIML, message: '2.0-fast renders at most 720p' },
  { name: '2.5 for 31 s', args: ['a fox', '--model', '2.5', '--duration', '31'], keys: AIML, message: '2.5 makes 4 to 30 s clips' },
  { name: '--audio on lite', args: ['a fox', '--model', 'lite', '--audio'], keys: AIML, message: 'lite makes no sound; 1.5-pro, 2.0, 2.0-fast, 2.0-mini, 2.5 or 2.5-dreamina do' },
  { name: '--audio with --no-audio', args: ['a fox', '--audio', '--no-audio'], keys: AIML, message: 'give --audio or --no-audio, not both' },
  { name: '10 references', args: ['a fox', '--model', '2.0', ...Array.from({ length: 10 }, () => ['--ref', RED_PNG]).flat()], keys: AIML, message: 'at most 9 reference images fit with 2.0; you gave 10' },
  { name: 'references with --image', args: ['a fox', '--model', '2.0', '--image', RED_PNG, '--ref', RED_PNG], keys: AIML, message: 'reference images and videos replace the first and last frame; give one or the other' },
  { name: 'references on lite', args: ['a fox', '--ref', RED_PNG, '--ref', RED_PNG], keys: AIML, message: 'lite takes no reference images; 2.0, 2.0-fast, 2.0-mini, 2.5 or 2.5-dreamina do' },
  { name: 'a reference below 300 px', args: ['a fox', '--model', '2.0', '--ref', RED_PNG, '--ref', SMALL_PNG], keys: AIML, message: 'reference image 2: the image is 100x100 px; each side must be 300–6000 px' },
  { name: 'a reference that does not exist', args: ['a fox', '--model', '2.0', '--ref', join(FIXTURES, 'no-such-file.png')], keys: AIML, message: 'the reference image' },
  { name: '@Image3 with two references', args: ['@Image1 meets @Image3', '--model', '2.0', '--ref', RED_PNG, '--ref', RED_PNG], keys: AIML, message: 'the prompt names @Image3, but only 2 reference images were given' },
  { name: '--ref-video that is not a link', args: ['a fox', '--model', '2.0', '--ref-video', 'clip.mp4'], keys: AIML, message: 'a reference video must be an http(s) link' },
  { name: '--image that is a directory', args: ['a fox', '--image', FIXTURES], keys: AIML, message: 'is not a file' },
  { name: '--out that is a directory', args: ['a fox', '--out', FIXTURES], keys: AIML, message: `can't save the video to ${resolve(FIXTURES)}: it is a directory` },
  { name: '--out below a regular file', args: ['a fox', '--out', join(UNDER_A_FILE, 'x.mp4')], keys: AIML, message: `${VIDEO} is not a directory` },
  { name: 'a DATA_DIR that cannot be created', args: ['a fox'], keys: { ...AIML, DATA_DIR: UNDER_A_FILE }, message: /^error: ENOTDIR\b.*tiny\.mp4/ },
];

describe.concurrent('bad input submits nothing', () => {
  for (const c of BAD_INPUT) {
    test(c.name, async ({ expect, onTestFinished }) => {
      const w = await createWorld();
      onTestFinished(() => w.close());
      const out = join(w.dataDir, 'never.mp4');

      const r = await runCli(['generate', ...c.args, ...(c.args.includes('--out') ? [] : ['--out', out])], w.env(c.keys));

      expect(r.code).toBe(1);
      const err = lines(r.stderr);
      expect(err).toHaveLength(1);
      expect(err[0]).toMatch(/^error: /);
      if (typeof c.message === 'string') expect(err[0]).toContain(c.message);
      else expect(err[0]).toMatch(c.message);
      expect(r.stdout).toBe('');
      expect(w.emulator.count({ method: 'POST' })).toBe(0);
      expect(w.emulator.requests).toHaveLength(0);
      expect(await exists(out)).toBe(false);
    });
  }

  test('--image URLs that do not give an image', async ({ expect, onTestFinished }) => {
    const w = await createWorld();
    onTestFinished(() => w.close());
    const server = createServer((req, res) => {
      if (req.url === '/photo.png') res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Sign in</body></html>');
      else res.writeHead(404, { 'content-type': 'text/plain' }).end('not here');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    onTestFinished(() => new Promise<void>((r) => server.close(() => r())));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const env = w.env(AIML);
    const out = join(w.dataDir, 'never.mp4');

    const [html, missing] = await Promise.all([
      runCli(['generate', 'a fox', '--image', `${base}/photo.png`, '--out', out], env),
      runCli(['generate', 'a fox', '--image', `${base}/gone.png`, '--out', out], env),
    ]);

    expect(html.code).toBe(1);
    expect(lines(html.stderr)).toEqual([`error: the image at ${base}/photo.png isn't a supported image (text/html); use JPEG, PNG, WebP, BMP, TIFF or GIF`]);
    expect(missing.code).toBe(1);
    expect(lines(missing.stderr)).toEqual([`error: could not fetch the image from ${base}/gone.png: HTTP 404 from ${base.slice('http://'.length)}`]);
    expect(w.emulator.requests).toHaveLength(0);
    expect(await exists(out)).toBe(false);
  });
});

describe.concurrent('keys and provider failures', () => {
  test('no provider key configured', async ({ expect, onTestFinished }) => {
    const w = await createWorld();
    onTestFinished(() => w.close());

    const r = await runCli(['generate', 'a fox'], w.env());

    expect(r.code).toBe(1);
    const err = lines(r.stderr);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/^error: /);
    expect(err[0]).toContain('AIMLAPI_KEY');
    expect(err[0]).toContain('SEGMIND_API_KEY');
    expect(w.emulator.requests).toHaveLength(0);
  });

  const badKeys: { name: string; keys: Record<string, string>; args: string[] }[] = [
    { name: 'AIML API', keys: { AIMLAPI_KEY: 'sk-aiml-NOT-VALID-7f3e9a1c' }, args: [] },
    { name: 'Segmind', keys: { SEGMIND_API_KEY: 'sg-NOT-VALID-0b5d2e88' }, args: ['--image', RED_PNG] },
  ];
  for (const p of badKeys) {
    test(`a ${p.name} key the provider rejects (401)`, async ({ expect, onTestFinished }) => {
      const w = await createWorld();
      onTestFinished(() => w.close());
      const out = join(w.dataDir, 'never.mp4');

      const r = await runCli(['generate', 'a fox', ...p.args, '--out', out], w.env(p.keys));

      expect(r.code).toBe(1);
      const err = lines(r.stderr);
      expect(err.at(-1)).toBe(`The bot's ${p.name} key was rejected. Ask the bot's operator to check it.`);
      expect(err.filter((l) => l.startsWith('Saved '))).toHaveLength(0);
      const key = Object.values(p.keys)[0]!;
      expect(r.stderr).not.toContain(key);
      expect(r.stdout).not.toContain(key);
      // A 401 is final: not retried.
      expect(w.emulator.count({ method: 'POST' })).toBe(1);
      expect(await exists(out)).toBe(false);
    });
  }

  test('the provider reports the generation failed', async ({ expect, onTestFinished }) => {
    const w = await createWorld();
    onTestFinished(() => w.close());
    w.emulator.settings.failNext = 1;
    const out = join(w.dataDir, 'never.mp4');

    const r = await runCli(['generate', 'a fox', '--out', out], w.env(AIML));

    expect(r.code).toBe(1);
    expect(lines(r.stderr).at(-1)).toBe("The video couldn't be made: Output video may contain sensitive content");
    expect(w.emulator.count({ method: 'POST' })).toBe(1);
    expect(await exists(out)).toBe(false);
  });

  test('Segmind reports the generation failed (422 FAILED)', async ({ expect, onTestFinished }) => {
    const w = await createWorld();
    onTestFinished(() => w.close());
    w.emulator.settings.failNext = 1;

    const r = await runCli(['generate', 'a fox', '--image', RED_PNG, '--out', join(w.dataDir, 'never.mp4')], w.env(SEGMIND));

    expect(r.code).toBe(1);
    expect(lines(r.stderr).at(-1)).toContain('output video may contain sensitive content');
    expect(w.emulator.count({ method: 'POST' })).toBe(1);
  });

  const broke: { name: string; service: 'aimlapi' | 'segmind'; keys: Record<string, string>; args: string[] }[] = [
    { name: 'AIML API', service: 'aimlapi', keys: AIML, args: [] },
    { name: 'Segmind', service: 'segmind', keys: SEGMIND, args: ['--image', RED_PNG] },
  ];
  for (const p of broke) {
    test(`out of credits on ${p.name}`, async ({ expect, onTestFinished }) => {
      const w = await createWorld();
      onTestFinished(() => w.close());
      w.emulator.credits[p.service] = 0;

      const r = await runCli(['generate', 'a fox', ...p.args, '--out', join(w.dataDir, 'never.mp4')], w.env(p.keys));

      expect(r.code).toBe(1);
      expect(lines(r.stderr).at(-1)).toBe(`The bot's ${p.name} account is out of credits. Ask the bot's operator to top it up.`);
      expect(w.emulator.count({ method: 'POST' })).toBe(1);
    });
  }

  test('a connection reset after the create request went out: not resent, and the user is told it may be charged', async ({ expect, onTestFinished }) => {
    const w = await createWorld();
    onTestFinished(() => w.close());
    w.emulator.addFault({ kind: 'reset', method: 'POST' });

    const r = await runCli(['generate', 'a fox', '--out', join(w.dataDir, 'never.mp4')], w.env(AIML));

    expect(r.code).toBe(1);
    const last = lines(r.stderr).at(-1)!;
    expect(last).toContain("so we can't tell whether AIML API started the job. It was not sent again, to avoid paying twice; it may have been charged.");
    expect(last).toContain('AIML API dashboard');
    expect(last).not.toMatch(/try again/i);
    expect(w.emulator.count({ method: 'POST' })).toBe(1);
  });
});
