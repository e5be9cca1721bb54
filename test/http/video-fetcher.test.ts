// createVideoFetcher and fetchBytes over real HTTP: the emulator's signed video URLs and a tiny local server for odd cases.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Dispatcher } from 'undici';
import { DownloadError } from '../../src/core/errors.js';
import type { VideoFetcher } from '../../src/core/ports.js';
import { createDispatcher } from '../../src/http/http-client.js';
import { createVideoFetcher, fetchBytes } from '../../src/http/video-fetcher.js';
import { DEFAULT_AIMLAPI_KEY, FIXTURE_VIDEO_URL, startProviderEmulator } from '../emulator/provider-emulator.js';
import type { ProviderEmulator } from '../emulator/provider-emulator.js';
import { rejectionOf } from '../helpers/rejection.js';

const RENDER_MS = 30;
const TTL_MS = 24 * 3600 * 1000;

let t = Date.UTC(2025, 6, 21, 12, 0, 0, 250);
const now = (): number => t;

let emu: ProviderEmulator;
let dispatcher: Dispatcher;
let fetcher: VideoFetcher;
let fixture: Buffer;
let dir: string;

/** Routes of the tiny local server for cases the emulator does not produce. */
const BIG = Buffer.alloc(3000, 7);
const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
  // No Content-Length: the size is only known while streaming.
  '/chunked': (_req, res) => {
    res.writeHead(200, { 'content-type': 'video/mp4' });
    res.write(BIG.subarray(0, 1000));
    res.write(BIG.subarray(1000, 2000));
    res.end(BIG.subarray(2000));
  },
  // Declares the full length, sends half, then drops the connection.
  '/reset': (_req, res) => {
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(BIG.length) });
    res.write(BIG.subarray(0, 1500), () => res.destroy());
  },
  '/image': (_req, res) => {
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': '4' });
    res.end(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  },
  '/redirect': (_req, res) => {
    res.writeHead(302, { location: '/image' }).end();
  },
};
let tiny: Server;
let tinyUrl: string;

async function finishedVideoUrl(): Promise<string> {
  const auth = { authorization: `Bearer ${DEFAULT_AIMLAPI_KEY}`, 'content-type': 'application/json' };
  const created = await fetch(`${emu.aimlapiUrl}/v2/video/generations`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ model: 'bytedance/seedance-1-0-lite-t2v', prompt: 'a paper boat on a pond' }),
  });
  const { id } = (await created.json()) as { id: string };
  t = emu.jobs.get(id)!.readyAt;
  const polled = await fetch(`${emu.aimlapiUrl}/v2/video/generations?generation_id=${id}`, { headers: auth });
  const body = (await polled.json()) as { video: { url: string } };
  return body.video.url;
}

const rejection = (p: Promise<unknown>) => rejectionOf(p, DownloadError);

beforeAll(async () => {
  emu = await startProviderEmulator({ renderMs: () => RENDER_MS, now, videoUrlTtlMs: TTL_MS });
  dispatcher = createDispatcher({});
  fetcher = createVideoFetcher(dispatcher);
  fixture = await readFile(FIXTURE_VIDEO_URL);
  tiny = createServer((req, res) => {
    const route = routes[new URL(req.url ?? '/', 'http://x').pathname];
    if (route) route(req, res);
    else res.writeHead(404).end('not found');
  });
  await new Promise<void>((resolve) => tiny.listen(0, '127.0.0.1', resolve));
  tinyUrl = `http://127.0.0.1:${(tiny.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await dispatcher.close();
  await emu.close();
  tiny.closeAllConnections();
  await new Promise<void>((resolve) => tiny.close(() => resolve()));
});
beforeEach(async (context) => {
  emu.reset();
  t += 60_000;
  dir = await mkdtemp(join(tmpdir(), 'fetcher-test-'));
  context.onTestFinished(() => rm(dir, { recursive: true, force: true }));
});

describe('createVideoFetcher().download', () => {
  it('downloads the exact bytes to the path and leaves no .part file', async () => {
    const url = await finishedVideoUrl();
    const path = join(dir, 'out.mp4');
    expect(await fetcher.download(url, path, { maxBytes: 10_000 })).toEqual({ ok: true, bytes: fixture.length });
    expect((await readFile(path)).equals(fixture)).toBe(true);
    expect(await readdir(dir)).toEqual(['out.mp4']);
    expect(emu.count({ service: 'cdn', method: 'GET' })).toBe(1);
  });

  it('accepts a file of exactly maxBytes', async () => {
    const url = await finishedVideoUrl();
    const path = join(dir, 'exact.mp4');
    expect(await fetcher.download(url, path, { maxBytes: fixture.length })).toEqual({ ok: true, bytes: fixture.length });
  });

  it('downloads a body that arrives slowly in small chunks', async () => {
    const url = await finishedVideoUrl();
    emu.addFault({ service: 'cdn', kind: 'slowBody', ms: 2, chunkBytes: 300 });
    const path = join(dir, 'slow.mp4');
    expect(await fetcher.download(url, path, { maxBytes: 10_000 })).toEqual({ ok: true, bytes: fixture.length });
    expect((await readFile(path)).equals(fixture)).toBe(true);
  });

  it('refuses a file whose Content-Length exceeds maxBytes, leaving nothing behind', async () => {
    const url = await finishedVideoUrl();
    const path = join(dir, 'big.mp4');
    expect(await fetcher.download(url, path, { maxBytes: fixture.length - 1 })).toEqual({ ok: false, reason: 'too_large', bytes: fixture.length });
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses a chunked body that grows past maxBytes, leaving nothing behind', async () => {
    const path = join(dir, 'chunked.mp4');
    expect(await fetcher.download(`${tinyUrl}/chunked`, path, { maxBytes: 1500 })).toEqual({ ok: false, reason: 'too_large' });
    expect(existsSync(path)).toBe(false);
    expect(await readdir(dir)).toEqual([]);
    // The same body under the limit arrives whole.
    expect(await fetcher.download(`${tinyUrl}/chunked`, path, { maxBytes: BIG.length })).toEqual({ ok: true, bytes: BIG.length });
    expect((await readFile(path)).equals(BIG)).toBe(true);
  });

  it('fails with 403, not retryable, once the signed URL has expired', async () => {
    const url = await finishedVideoUrl();
    const readyAt = t;
    t = readyAt + TTL_MS + 1;
    const path = join(dir, 'expired.mp4');
    const err = await rejection(fetcher.download(url, path, { maxBytes: 10_000 }));
    expect(err).toMatchObject({ code: 'download_failed', status: 403, retryable: false });
    expect(await readdir(dir)).toEqual([]);
    // One millisecond earlier it still worked.
    t = readyAt + TTL_MS;
    expect((await fetcher.download(url, path, { maxBytes: 10_000 })).ok).toBe(true);
  });

  it('fails with 404 for a URL the CDN does not know, and 503 as retryable', async () => {
    const url = new URL(await finishedVideoUrl());
    const missing = `${url.origin}/cdn/cgt-nope.mp4${url.search}`;
    expect(await rejection(fetcher.download(missing, join(dir, 'a.mp4'), { maxBytes: 10_000 }))).toMatchObject({ status: 404, retryable: false });
    emu.addFault({ service: 'cdn', kind: 'status', status: 503 });
    expect(await rejection(fetcher.download(url.href, join(dir, 'b.mp4'), { maxBytes: 10_000 }))).toMatchObject({ status: 503, retryable: true });
    expect(await readdir(dir)).toEqual([]);
  });

  it('treats a connection reset mid-body as retryable status 0 and leaves no partial file', async () => {
    const path = join(dir, 'reset.mp4');
    const err = await rejection(fetcher.download(`${tinyUrl}/reset`, path, { maxBytes: 10_000 }));
    expect(err).toMatchObject({ status: 0, retryable: true });
    expect(await readdir(dir)).toEqual([]);
  });

  it('treats a reset before any answer and a refused connection as retryable status 0', async () => {
    const url = await finishedVideoUrl();
    emu.addFault({ service: 'cdn', kind: 'reset' });
    expect(await rejection(fetcher.download(url, join(dir, 'r.mp4'), { maxBytes: 10_000 }))).toMatchObject({ status: 0, retryable: true });
    const port = await closedPort();
    const refused = await rejection(fetcher.download(`http://127.0.0.1:${port}/v.mp4`, join(dir, 'r.mp4'), { maxBytes: 10_000 }));
    expect(refused).toMatchObject({ status: 0, retryable: true });
    expect(refused.message).toMatch(/ECONNREFUSED/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('does not follow redirects silently: a 3xx is an error', async () => {
    const err = await rejection(fetcher.download(`${tinyUrl}/redirect`, join(dir, 'x.mp4'), { maxBytes: 10_000 }));
    expect(err.status).toBe(302);
  });
});

describe('fetchBytes', () => {
  it('returns the bytes and the content type', async () => {
    const url = await finishedVideoUrl();
    const got = await fetchBytes(dispatcher, url, { maxBytes: 10_000 });
    expect(got.contentType).toBe('video/mp4');
    expect(got.bytes.equals(fixture)).toBe(true);
    const img = await fetchBytes(dispatcher, `${tinyUrl}/image`, { maxBytes: 4 });
    expect(img).toEqual({ bytes: Buffer.from([0x89, 0x50, 0x4e, 0x47]), contentType: 'image/png' });
  });

  it('refuses more than maxBytes by Content-Length with 413', async () => {
    const url = await finishedVideoUrl();
    const err = await rejection(fetchBytes(dispatcher, url, { maxBytes: 100 }));
    expect(err).toMatchObject({ status: 413, retryable: false });
    expect(err.message).toContain(String(fixture.length));
  });

  it('refuses a chunked body past maxBytes with 413', async () => {
    const err = await rejection(fetchBytes(dispatcher, `${tinyUrl}/chunked`, { maxBytes: 1500 }));
    expect(err).toMatchObject({ status: 413, retryable: false });
  });

  it('sends the given headers and reports HTTP errors', async () => {
    const url = await finishedVideoUrl();
    await fetchBytes(dispatcher, url, { maxBytes: 10_000, headers: { authorization: 'Bearer xoxb-test' } });
    expect(emu.requests.filter((r) => r.service === 'cdn')[0]?.headers['authorization']).toBe('Bearer xoxb-test');
    expect(await rejection(fetchBytes(dispatcher, `${tinyUrl}/missing`, { maxBytes: 10 }))).toMatchObject({ status: 404 });
  });
});

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}
