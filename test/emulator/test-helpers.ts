// Helpers for the emulator's own tests.
import { readFileSync } from 'node:fs';
import { FIXTURE_VIDEO_URL, startProviderEmulator } from './provider-emulator.js';
import type { EmulatorOptions, ProviderEmulator } from './provider-emulator.js';

export const AIML_KEY = 'test-aiml-key';
export const SEGMIND_KEY = 'test-segmind-key';
export const RENDER_MS = 40;
export const FIXTURE = readFileSync(FIXTURE_VIDEO_URL);
export const AIML_CREATE = '/v2/video/generations';
export const AIML_LEGACY = '/v2/generate/video/bytedance/generation';
export const SEGMIND_SLUG = 'seedance-v1-lite-image-to-video';

/** A manual clock: the emulator's render/expiry decisions follow it, not wall time. */
export class FakeClock {
  t = Date.UTC(2025, 6, 21, 14, 31, 12, 345);
  now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface TestBed {
  emu: ProviderEmulator;
  clock: FakeClock;
}

/** Emulator on ephemeral ports, fake clock, render time RENDER_MS (fake ms; real ms for Segmind v1). */
export async function startTestBed(opts: EmulatorOptions = {}): Promise<TestBed> {
  const clock = new FakeClock();
  const emu = await startProviderEmulator({ now: clock.now, renderMs: () => RENDER_MS, ...opts });
  return { emu, clock };
}

export type JsonObject = Record<string, unknown>;

export async function readJson(res: Response): Promise<JsonObject> {
  return (await res.json()) as JsonObject;
}

export interface CallOptions {
  method?: string;
  body?: unknown;
  /** null = send no key */
  key?: string | null;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

function init(opts: CallOptions, auth: Record<string, string>): RequestInit {
  const headers: Record<string, string> = { ...auth, ...opts.headers };
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  }
  const method = opts.method ?? (body !== undefined ? 'POST' : 'GET');
  return { method, headers, ...(body !== undefined ? { body } : {}), ...(opts.signal ? { signal: opts.signal } : {}) };
}

export function aiml(emu: ProviderEmulator, path: string, opts: CallOptions = {}): Promise<Response> {
  const key = opts.key === undefined ? AIML_KEY : opts.key;
  return fetch(`${emu.aimlapiUrl}${path}`, init(opts, key === null ? {} : { authorization: `Bearer ${key}` }));
}

export function segmind(emu: ProviderEmulator, path: string, opts: CallOptions = {}): Promise<Response> {
  const key = opts.key === undefined ? SEGMIND_KEY : opts.key;
  return fetch(`${emu.segmindUrl}${path}`, init(opts, key === null ? {} : { 'x-api-key': key }));
}

export async function createAiml(emu: ProviderEmulator, body: JsonObject = {}): Promise<string> {
  const res = await aiml(emu, AIML_CREATE, {
    body: { model: 'bytedance/seedance-1-0-lite-t2v', prompt: 'a red fox in snow', ...body },
  });
  if (res.status !== 200) throw new Error(`create failed: ${res.status} ${await res.text()}`);
  return (await readJson(res))['id'] as string;
}

export async function pollAiml(emu: ProviderEmulator, id: string, path = AIML_CREATE): Promise<JsonObject> {
  const res = await aiml(emu, `${path}?generation_id=${encodeURIComponent(id)}`);
  if (res.status !== 200) throw new Error(`poll failed: ${res.status} ${await res.text()}`);
  return readJson(res);
}

export const SEGMIND_BODY: JsonObject = {
  prompt: 'a serene forest at dawn',
  image_url: 'https://example.com/forest.jpeg',
  duration: 5,
  resolution: '720p',
};

export async function createSegmindV2(emu: ProviderEmulator, body: JsonObject = SEGMIND_BODY): Promise<JsonObject> {
  const res = await segmind(emu, `/v2/${SEGMIND_SLUG}`, { body });
  if (res.status !== 200) throw new Error(`create failed: ${res.status} ${await res.text()}`);
  return readJson(res);
}
