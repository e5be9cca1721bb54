/**
 * `seedance-bot generate` end to end: a real child process talking HTTP to the
 * provider emulator, writing the MP4 to --out.
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'vitest';
import { DEFAULT_AIMLAPI_KEY, DEFAULT_SEGMIND_KEY } from '../emulator/provider-emulator.js';
import type { ProviderEmulator } from '../emulator/provider-emulator.js';
import { FIXTURES, createWorld, lines, runCli } from './run-cli.js';

const VIDEO = readFile(join(FIXTURES, 'tiny.mp4'));
const RED_PNG = join(FIXTURES, 'red-320.png');
const GREEN_JPG = join(FIXTURES, 'green-400x300.jpg');

async function dataUri(path: string, mime: string): Promise<string> {
  return `data:${mime};base64,${(await readFile(path)).toString('base64')}`;
}

function creates(emulator: ProviderEmulator) {
  return emulator.requests.filter((r) => r.method === 'POST');
}

const PROGRESS = /^\[[#-]{24}\] +\d+% · /;

describe.concurrent('seedance-bot generate', () => {
  test('text-to-video: writes the video to --out and submits exactly one job', async ({ expect, onTestFinished }) => {
    const w = await createWorld();
    onTestFinished(() => w.close());
    const out = join(w.dataDir, 'clips', 'fox.mp4');

    const r = await runCli(['generate', 'a red fox running through snow', '--seed', '1234', '--out', out], w.env({ AIMLAPI_KEY: DEFAULT_AIMLAPI_KEY }));

    expect(r.stderr).not.toMatch(/^error:/m);
    expect(r.code).toBe(0);
    expect(await readFile(out)).toEqual(await VIDEO);
    const err = lines(r.stderr);
    expect(err.some((l) => PROGRESS.test(l))).toBe(true);
    const saved = err.filter((l) => l.startsWith('Saved '));
    expect(saved).toHaveLength(1);
    expect(saved[0]).toContain(`Saved ${out} `);
    expect(saved[0]).toContain('seed 1234');
    expect(saved[0]).toContain('lite 720p 5s');
    expect(r.stdout).toBe('');

    const posts = creates(w.emulator);
    expect(posts).toHaveLength(1);
    expect(posts[0]!.path).toBe('/v2/video/generations');
    expect(posts[0]!.headers.authorization).toBe(`Bearer ${DEFAULT_AIMLAPI_KEY}`);
    expect(posts[0]!.body).toEqual({
      model: 'bytedance/seedance-1-0-lite-t2v',
      prompt: 'a red fox running through snow',
      resolution: '720p',
      duration: 5,
      aspect_ratio: '16:9',
      seed: 1234,
      watermark: false,
      camerafixed: false,
    });
    // The video came from the emulator's CDN, once.
    expect(w.emulator.count({ service: 'cdn' })).toBe(1);
  });

  test('flags map onto the request body', async ({ expect, onTestFinished }) => {
    const w = await createWorld();
    onTestFinished(() => w.close());
    const out = join(w.dataDir, 'pro.mp4');

    const r = await runCli(
      ['generate', 'waves', 'at', 'dusk', '--model', 'pro', '--resolution', '1080p', '--duration', '10', '--ratio', '9:16', '--seed', '42', '--fixed-camera', '--out', out],
      w.env({ AIMLAPI_KEY: DEFAULT_AIMLAPI_KEY }),
    );

    expect(r.code).toBe(0);
    expect(await readFile(out)).toEqual(await VIDEO);
    expect(lines(r.stderr).filter((l) => l.startsWith('Saved '))).toEqual([expect.stringContaining('pro 1080p 10s · seed 42')]);
    const posts = creates(w.emulator);
    expect(posts).toHaveLength(1);
    expect(posts[0]!.body).toEqual({
      model: 'bytedance/seedance-1-0-pro-t2v',
      prompt: 'waves at dusk',
      resolution: '1080p',
      duration: 10,
      aspect_ratio: '9:16',
      seed: 42,
      watermark: false,
      camerafixed: true,
    });
  });

  test('image-to-video from a local PNG sends it as a data URI to lite i2v', async ({ expect, onTestFinished }) => {
    const w = await createWorld();
    onTestFinished(() => w.close());
    const out = join(w.dataDir, 'red.mp4');

    const r = await runCli(['generate', 'the red square ripples', '--image', RED_PNG, '--seed', '7', '--out', out], w.env({ AIMLAPI_KEY: DEFAULT_AIMLAPI_KEY }));

    expect(r.code).toBe(0);
    expect(await readFile(out)).toEqual(await VIDEO);
    const posts = creates(w.emulator);
    expect(posts).toHaveLength(1);
    expect(posts[0]!.body).toEqual({
      model: 'bytedance/seedance-1-0-lite-i2v',
      prompt: 'the red square ripples',
      resolution: '720p',
      duration: 5,
      seed: 7,
      watermark: false,
      camerafixed: false,
      image_url: await dataUri(RED_PNG, 'image/png'),
    });
  });

  test('pro image-to-video with a JPEG first frame and a PNG last frame', async ({ expect, onTestFinished }) => {
    const w = await createWorld();
    onTestFinished(() => w.close());
    const out = join(w.dataDir, 'green-to-red.mp4');

    const r = await runCli(
      ['generate', 'green turns red', '--model', 'pro', '--image', GREEN_JPG, '--last-frame', RED_PNG, '--out', out],
      w.env({ AIMLAPI_KEY: DEFAULT_AIMLAPI_KEY }),
    );

    expect(r.code).toBe(0);
    expect(await readFile(out)).toEqual(await VIDEO);
    const body = creates(w.emulator)[0]!.body as Record<string, unknown>;
    expect(creates(w.emulator)).toHaveLength(1);
    expect(body.model).toBe('bytedance/seedance-1-0-pro-i2v');
    expect(body.image_url).toBe(await dataUri(GREEN_JPG, 'image/jpeg'));
    expect(body.last_image_url).toBe(await dataUri(RED_PNG, 'image/png'));
    expect(body).not.toHaveProperty('aspect_ratio');
  });

  test('2.5 for 30 s without sound, with two reference images in order', async ({ expect, onTestFinished }) => {
    const w = await createWorld();
    onTestFinished(() => w.close());
    const out = join(w.dataDir, 'refs.mp4');

    const r = await runCli(
      ['generate', '@Image1 walks into @Image2', '--model', '2.5', '--duration', '30', '--no-audio', '--ref', RED_PNG, '--ref', GREEN_JPG, '--seed', '5', '--out', out],
      w.env({ AIMLAPI_KEY: DEFAULT_AIMLAPI_KEY }),
    );

    expect(r.stderr).not.toMatch(/^error:/m);
    expect(r.code).toBe(0);
    expect(await readFile(out)).toEqual(await VIDEO);
    expect(lines(r.stderr).filter((l) => l.startsWith('Saved '))).toEqual([expect.stringContaining('2.5 720p 30s')]);
    const posts = creates(w.emulator);
    expect(posts).toHaveLength(1);
    expect(posts[0]!.status).toBeLessThan(300);
    // Exactly the fields the 2.5 schema names: no camera flag, sound as generate_audio, references as image_urls.
    expect(posts[0]!.body).toEqual({
      model: 'bytedance/seedance-2-5',
      prompt: '@Image1 walks into @Image2',
      resolution: '720p',
      duration: 30,
      aspect_ratio: '16:9',
      seed: 5,
      watermark: false,
      generate_audio: false,
      image_urls: [await dataUri(RED_PNG, 'image/png'), await dataUri(GREEN_JPG, 'image/jpeg')],
    });
  });

  test('2.0 at 4k with sound, a reference image, video and sound file', async ({ expect, onTestFinished }) => {
    const w = await createWorld();
    onTestFinished(() => w.close());
    const out = join(w.dataDir, '4k.mp4');

    const r = await runCli(
      ['generate', '@Image1 dances to @Audio1 like @Video1', '--model', '2.0', '--resolution', '4k', '--audio', '--duration', '12', '--ref', RED_PNG, '--ref-video', 'https://example.com/moves.mp4', '--ref-audio', 'https://example.com/beat.mp3', '--out', out],
      w.env({ AIMLAPI_KEY: DEFAULT_AIMLAPI_KEY }),
    );

    expect(r.code).toBe(0);
    expect(await readFile(out)).toEqual(await VIDEO);
    expect(creates(w.emulator)).toHaveLength(1);
    expect(creates(w.emulator)[0]!.body).toMatchObject({
      model: 'bytedance/seedance-2-0',
      resolution: '4k',
      duration: 12,
      generate_audio: true,
      image_urls: [await dataUri(RED_PNG, 'image/png')],
      video_urls: ['https://example.com/moves.mp4'],
      audio_urls: ['https://example.com/beat.mp3'],
    });
    expect(creates(w.emulator)[0]!.body).not.toHaveProperty('image_url');
  });

  test('--image <http URL>: checked by downloading it, then passed on as the URL', async ({ expect, onTestFinished }) => {
    const w = await createWorld();
    onTestFinished(() => w.close());
    const png = await readFile(RED_PNG);
    const hits: string[] = [];
    const server = createServer((req, res) => {
      hits.push(`${req.method} ${req.url}`);
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.byteLength }).end(png);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    onTestFinished(() => new Promise<void>((r) => server.close(() => r())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/frames/red.png?v=1`;
    const out = join(w.dataDir, 'url.mp4');

    const r = await runCli(['generate', 'a red square', '--image', url, '--out', out], w.env({ AIMLAPI_KEY: DEFAULT_AIMLAPI_KEY }));

    expect(r.code).toBe(0);
    expect(await readFile(out)).toEqual(await VIDEO);
    expect(hits).toEqual(['GET /frames/red.png?v=1']);
    const posts = creates(w.emulator);
    expect(posts).toHaveLength(1);
    expect(posts[0]!.body).toMatchObject({ model: 'bytedance/seedance-1-0-lite-i2v', image_url: url });
  });

  test('--image <http URL> that redirects: followed for the check, the link given is passed on', async ({ expect, onTestFinished }) => {
    const w = await createWorld();
    onTestFinished(() => w.close());
    const png = await readFile(RED_PNG);
    const hits: string[] = [];
    const server = createServer((req, res) => {
      hits.push(`${req.method} ${req.url}`);
      if (req.url === '/share/red') res.writeHead(302, { location: '/files/red.png' }).end();
      else res.writeHead(200, { 'content-type': 'image/png' }).end(png);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    onTestFinished(() => new Promise<void>((r) => server.close(() => r())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/share/red`;
    const out = join(w.dataDir, 'redirected.mp4');

    const r = await runCli(['generate', 'a red square', '--image', url, '--out', out], w.env({ AIMLAPI_KEY: DEFAULT_AIMLAPI_KEY }));

    expect(r.code).toBe(0);
    expect(await readFile(out)).toEqual(await VIDEO);
    expect(hits).toEqual(['GET /share/red', 'GET /files/red.png']);
    expect(creates(w.emulator)[0]!.body).toMatchObject({ image_url: url });
  });

  test('Segmind only (async v2): first_frame_url to /v2/seedance-v1-lite-image-to-video', async ({ expect, onTestFinished }) => {
    const w = await createWorld();
    onTestFinished(() => w.close());
    const out = join(w.dataDir, 'segmind.mp4');

    const r = await runCli(['generate', 'red ripples', '--image', RED_PNG, '--seed', '99', '--out', out], w.env({ SEGMIND_API_KEY: DEFAULT_SEGMIND_KEY }));

    expect(r.code).toBe(0);
    expect(await readFile(out)).toEqual(await VIDEO);
    expect(lines(r.stderr).filter((l) => l.startsWith('Saved '))).toEqual([expect.stringContaining('seed 99')]);
    const posts = creates(w.emulator);
    expect(posts).toHaveLength(1);
    expect(posts[0]!.service).toBe('segmind');
    expect(posts[0]!.path).toBe('/v2/seedance-v1-lite-image-to-video');
    expect(posts[0]!.headers['x-api-key']).toBe(DEFAULT_SEGMIND_KEY);
    expect(posts[0]!.body).toEqual({
      prompt: 'red ripples',
      duration: 5,
      resolution: '720p',
      seed: 99,
      camera_fixed: false,
      first_frame_url: await dataUri(RED_PNG, 'image/png'),
    });
    expect(w.emulator.count({ service: 'segmind', method: 'GET', pathIncludes: '/status' })).toBeGreaterThanOrEqual(1);
    expect(w.emulator.count({ service: 'aimlapi' })).toBe(0);
  });

  test('Segmind sync mode (v1): the response body is the video', async ({ expect, onTestFinished }) => {
    const w = await createWorld();
    onTestFinished(() => w.close());
    const out = join(w.dataDir, 'segmind-sync.mp4');

    const r = await runCli(
      ['generate', 'red ripples', '--image', RED_PNG, '--resolution', '480p', '--out', out],
      w.env({ SEGMIND_API_KEY: DEFAULT_SEGMIND_KEY, SEGMIND_API_MODE: 'sync' }),
    );

    expect(r.code).toBe(0);
    expect(await readFile(out)).toEqual(await VIDEO);
    expect(lines(r.stderr).filter((l) => l.startsWith('Saved '))).toHaveLength(1);
    expect(w.emulator.requests.map((q) => `${q.method} ${q.path}`)).toEqual(['POST /v1/seedance-v1-lite-image-to-video']);
    expect(creates(w.emulator)[0]!.body).toMatchObject({ resolution: '480p', first_frame_url: await dataUri(RED_PNG, 'image/png') });
  });

  test('--quiet: nothing on stderr when the video is saved', async ({ expect, onTestFinished }) => {
    const w = await createWorld();
    onTestFinished(() => w.close());
    const out = join(w.dataDir, 'quiet.mp4');

    const r = await runCli(['generate', 'a fox', '--quiet', '--out', out], w.env({ AIMLAPI_KEY: DEFAULT_AIMLAPI_KEY }));

    expect(r.code).toBe(0);
    expect(await readFile(out)).toEqual(await VIDEO);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('');
  });

  test('--quiet still says why a job failed', async ({ expect, onTestFinished }) => {
    const w = await createWorld();
    onTestFinished(() => w.close());
    w.emulator.settings.failNext = 1;

    const r = await runCli(['generate', 'a fox', '--quiet', '--out', join(w.dataDir, 'never.mp4')], w.env({ AIMLAPI_KEY: DEFAULT_AIMLAPI_KEY }));

    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual(["The video couldn't be made: Output video may contain sensitive content"]);
  });

  test('a video over MAX_VIDEO_MB: the link is shown, nothing is written, exit 1', async ({ expect, onTestFinished }) => {
    const w = await createWorld({ videoBytes: Buffer.alloc(1536 * 1024, 7) });
    onTestFinished(() => w.close());
    const out = join(w.dataDir, 'big.mp4');

    const r = await runCli(['generate', 'a fox', '--quiet', '--out', out], w.env({ AIMLAPI_KEY: DEFAULT_AIMLAPI_KEY, MAX_VIDEO_MB: '1' }));

    expect(r.code).toBe(1);
    const err = lines(r.stderr);
    expect(err).toHaveLength(1);
    expect(err[0]).toContain(`download it from ${w.emulator.aimlapiUrl}/cdn/`);
    expect(err[0]).toMatch(/\(link valid until \d{4}-/);
    await expect(readFile(out)).rejects.toThrow(/ENOENT/);
    expect(w.emulator.count({ method: 'POST' })).toBe(1);
  });
});
