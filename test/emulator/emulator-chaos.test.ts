// The chaos hook: a function asked about every request no queued fault matched, for random ongoing faults.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  AIML_CREATE,
  AIML_LEGACY,
  FIXTURE,
  RENDER_MS,
  SEGMIND_BODY,
  SEGMIND_SLUG,
  aiml,
  createAiml,
  createSegmindV2,
  pollAiml,
  readJson,
  segmind,
  startTestBed,
} from './test-helpers.js';
import type { FakeClock } from './test-helpers.js';
import type { ChaosRequest, Fault, ProviderEmulator } from './provider-emulator.js';

let emu: ProviderEmulator;
let clock: FakeClock;

beforeEach(async () => {
  ({ emu, clock } = await startTestBed());
});
afterEach(async () => {
  await emu.close();
});

const T2V = { model: 'bytedance/seedance-1-0-lite-t2v', prompt: 'x' };

/** The error a failed fetch carries, with its cause's code/message. */
async function fetchFailure(p: Promise<Response>): Promise<string> {
  try {
    const res = await p;
    throw new Error(`expected a failed request, got HTTP ${res.status}`);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    const cause = err.cause as { code?: string; message?: string } | undefined;
    return `${err.message} ${cause?.code ?? ''} ${cause?.message ?? ''}`;
  }
}

describe('chaos', () => {
  it('describes every request: service, method, path, kind (create / poll / download / other) and body', async () => {
    const seen: ChaosRequest[] = [];
    emu.setChaos((req) => {
      seen.push(req);
      return undefined;
    });
    const id = await createAiml(emu);
    await aiml(emu, AIML_LEGACY, { body: T2V });
    clock.advance(RENDER_MS);
    const url = ((await pollAiml(emu, id))['video'] as { url: string }).url;
    expect((await fetch(url)).status).toBe(200);
    const sid = (await createSegmindV2(emu))['request_id'] as string;
    await segmind(emu, `/v1/${SEGMIND_SLUG}`, { body: SEGMIND_BODY });
    clock.advance(RENDER_MS);
    await segmind(emu, `/v2/requests/${sid}/status`);
    await segmind(emu, `/v2/requests/${sid}`);
    expect((await fetch(`${emu.segmindUrl}/outputs/${sid}.mp4`)).status).toBe(200);
    await aiml(emu, '/v2/nowhere');
    await segmind(emu, '/v2/other-model', { body: SEGMIND_BODY });
    await fetch(`${emu.aimlapiUrl}/__emulator/jobs`); // control requests are never offered to chaos

    expect(seen.map((r) => `${r.service} ${r.method} ${r.pathname} ${r.kind}`)).toEqual([
      `aimlapi POST ${AIML_CREATE} create`,
      `aimlapi POST ${AIML_LEGACY} create`,
      `aimlapi GET ${AIML_CREATE} poll`,
      `cdn GET /cdn/${encodeURIComponent(id)}.mp4 download`,
      `segmind POST /v2/${SEGMIND_SLUG} create`,
      `segmind POST /v1/${SEGMIND_SLUG} create`,
      `segmind GET /v2/requests/${sid}/status poll`,
      `segmind GET /v2/requests/${sid} poll`,
      `cdn GET /outputs/${sid}.mp4 download`,
      'aimlapi GET /v2/nowhere other',
      'segmind POST /v2/other-model other',
    ]);
    expect(seen[0]).toMatchObject({ isAimlPoll: false, body: { model: T2V.model } });
    expect(seen[2]).toMatchObject({ isAimlPoll: true, path: `${AIML_CREATE}?generation_id=${id}`, body: undefined });
    expect(emu.requests.map((r) => r.kind)).toEqual(seen.map((r) => r.kind));
    expect(emu.requests.every((r) => r.fault === undefined)).toBe(true);
  });

  it('status: a refused create answers the error with Retry-After and creates no job; the log tells it apart', async () => {
    let creates = 0;
    emu.setChaos((req) => (req.kind === 'create' && ++creates % 2 === 1 ? { kind: 'status', status: 429, retryAfterSeconds: 3 } : undefined));
    const refused = await aiml(emu, AIML_CREATE, { body: T2V });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('3');
    expect(await readJson(refused)).toMatchObject({ statusCode: 429, message: 'Too Many Requests' });
    expect(emu.jobs.size).toBe(0);
    expect((await aiml(emu, AIML_CREATE, { body: T2V })).status).toBe(200);
    const segRefused = await segmind(emu, `/v2/${SEGMIND_SLUG}`, { body: SEGMIND_BODY });
    expect(segRefused.status).toBe(429);
    expect(segRefused.headers.get('retry-after')).toBe('3');
    expect(await readJson(segRefused)).toEqual({ error: 'Rate limit exceeded. Please try again later.' });
    expect(emu.jobs.size).toBe(1);

    expect(emu.requests[0]).toMatchObject({ kind: 'create', status: 429, fault: { source: 'chaos', kind: 'status', status: 429 } });
    expect(emu.requests[1]?.fault).toBeUndefined();
    expect(emu.count({ kind: 'create' })).toBe(3);
    expect(emu.count({ kind: 'create', faulted: true })).toBe(2);
    expect(emu.count({ kind: 'create', faulted: false })).toBe(1);
    expect(emu.count({ service: 'segmind', faultSource: 'chaos' })).toBe(1);
  });

  it('reset: the client sees the connection dropped without a response, and no job is created', async () => {
    emu.setChaos((req) => (req.kind === 'create' ? { kind: 'reset' } : undefined));
    const failure = await fetchFailure(aiml(emu, AIML_CREATE, { body: T2V, signal: AbortSignal.timeout(3000) }));
    expect(failure).toMatch(/other side closed|ECONNRESET|socket/i);
    expect(emu.requests[0]).toMatchObject({ kind: 'create', status: 0, fault: { source: 'chaos', kind: 'reset' } });
    expect(emu.jobs.size).toBe(0);
  });

  it('delay: the response comes late but normal; a delay past the client timeout is a hang', async () => {
    const id = await createAiml(emu);
    clock.advance(RENDER_MS);
    const url = ((await pollAiml(emu, id))['video'] as { url: string }).url;
    emu.setChaos((req) => (req.kind === 'download' ? { kind: 'delay', ms: 150 } : undefined));
    const t0 = Date.now();
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(FIXTURE)).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    await expect(fetch(url, { signal: AbortSignal.timeout(40) })).rejects.toThrow(/abort|timeout/i);
    expect(emu.count({ kind: 'download', faultSource: 'chaos' })).toBe(2);
  });

  it('status and reset take an optional wait first (a hang that ends in an error or a dropped connection)', async () => {
    const faults: Fault[] = [{ kind: 'status', status: 503, ms: 120 }, { kind: 'reset', ms: 120 }];
    emu.setChaos(() => faults.shift());
    let t0 = Date.now();
    expect((await aiml(emu, AIML_CREATE, { body: T2V })).status).toBe(503);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(110);
    t0 = Date.now();
    expect(await fetchFailure(aiml(emu, AIML_CREATE, { body: T2V }))).toMatch(/other side closed|ECONNRESET|socket/i);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(110);
    expect(emu.jobs.size).toBe(0);
    expect(() => emu.addFault({ kind: 'reset', ms: -1 })).toThrow(/ms/);
  });

  it('queued faults come first; clearing chaos restores normal behaviour; reset() clears it too', async () => {
    emu.setChaos(() => ({ kind: 'status', status: 500 }));
    emu.addFault({ kind: 'status', status: 502 });
    expect((await aiml(emu, AIML_CREATE, { body: T2V })).status).toBe(502);
    expect((await aiml(emu, AIML_CREATE, { body: T2V })).status).toBe(500);
    expect(emu.requests.map((r) => r.fault?.source)).toEqual(['queued', 'chaos']);
    emu.clearFaults(); // only the queue
    expect((await aiml(emu, AIML_CREATE, { body: T2V })).status).toBe(500);
    emu.setChaos(undefined);
    expect((await aiml(emu, AIML_CREATE, { body: T2V })).status).toBe(200);
    expect(emu.jobs.size).toBe(1);
    emu.setChaos(() => ({ kind: 'reset' }));
    emu.reset();
    expect((await aiml(emu, AIML_CREATE, { body: T2V })).status).toBe(200);
  });

  it('an invalid chaos fault answers 500 instead of being silently ignored', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      emu.setChaos(() => ({ kind: 'status' }));
      const res = await aiml(emu, AIML_CREATE, { body: T2V });
      expect(res.status).toBe(500);
      expect(emu.jobs.size).toBe(0);
      expect(String(logged.mock.calls[0]?.[1])).toMatch(/Invalid chaos fault: status fault needs status/);
    } finally {
      logged.mockRestore();
    }
  });
});
