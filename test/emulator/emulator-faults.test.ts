import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AIML_CREATE,
  FIXTURE,
  RENDER_MS,
  SEGMIND_BODY,
  SEGMIND_SLUG,
  aiml,
  createAiml,
  pollAiml,
  readJson,
  segmind,
  startTestBed,
} from './test-helpers.js';
import type { FakeClock } from './test-helpers.js';
import type { ProviderEmulator } from './provider-emulator.js';

let emu: ProviderEmulator;
let clock: FakeClock;

beforeEach(async () => {
  ({ emu, clock } = await startTestBed());
});
afterEach(async () => {
  await emu.close();
});

const T2V = { model: 'bytedance/seedance-1-0-lite-t2v', prompt: 'x' };

describe('faults', () => {
  it('status: answers the AIML envelope with Retry-After, `times` times, then recovers', async () => {
    emu.addFault({ service: 'aimlapi', method: 'POST', kind: 'status', status: 429, retryAfterSeconds: 7, times: 2 });
    for (let i = 0; i < 2; i++) {
      const res = await aiml(emu, AIML_CREATE, { body: T2V });
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('7');
      expect(await readJson(res)).toMatchObject({ statusCode: 429, message: 'Too Many Requests', path: AIML_CREATE });
    }
    expect((await aiml(emu, AIML_CREATE, { body: T2V })).status).toBe(200);
    expect(emu.requests.map((r) => r.status)).toEqual([429, 429, 200]);
    expect(emu.jobs.size).toBe(1);
  });

  it('status: uses the Segmind envelope, or the given body', async () => {
    emu.addFault({ service: 'segmind', kind: 'status', status: 502 });
    emu.addFault({ service: 'segmind', kind: 'status', status: 504, body: { error: 'upstream timed out', code: 'X' } });
    const first = await segmind(emu, `/v2/${SEGMIND_SLUG}`, { body: SEGMIND_BODY });
    expect(first.status).toBe(502);
    expect(await readJson(first)).toEqual({ error: 'Bad gateway' });
    const second = await segmind(emu, `/v2/${SEGMIND_SLUG}`, { body: SEGMIND_BODY });
    expect(second.status).toBe(504);
    expect(await readJson(second)).toEqual({ error: 'upstream timed out', code: 'X' });
    expect(second.headers.get('retry-after')).toBeNull();
  });

  it('reset: the client sees a dropped connection; the request is recorded with status 0', async () => {
    emu.addFault({ kind: 'reset', pathIncludes: '/v2/video' });
    await expect(aiml(emu, AIML_CREATE, { body: T2V, signal: AbortSignal.timeout(3000) })).rejects.toThrow(TypeError);
    expect(emu.requests).toHaveLength(1);
    expect(emu.requests[0]).toMatchObject({ service: 'aimlapi', method: 'POST', status: 0, body: T2V });
    expect(emu.jobs.size).toBe(0);
    expect((await aiml(emu, AIML_CREATE, { body: T2V })).status).toBe(200);
  });

  it('delay: holds the request back, then handles it normally', async () => {
    emu.addFault({ service: 'aimlapi', kind: 'delay', ms: 250, times: 2 });
    await expect(aiml(emu, AIML_CREATE, { body: T2V, signal: AbortSignal.timeout(30) })).rejects.toThrow(/abort|timeout/i);
    const res = await aiml(emu, AIML_CREATE, { body: T2V });
    expect(res.status).toBe(200);
    expect(emu.jobs.size).toBe(2); // the aborted one was still handled after the delay
  });

  it('slowBody: the body arrives in several chunks but intact', async () => {
    const id = await createAiml(emu);
    clock.advance(RENDER_MS);
    const url = ((await pollAiml(emu, id))['video'] as { url: string }).url;
    emu.addFault({ service: 'cdn', kind: 'slowBody', ms: 15, chunkBytes: 600 });
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(FIXTURE.length));
    const reader = res.body!.getReader();
    const chunks: Uint8Array[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
    }
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    expect(Buffer.concat(chunks).equals(FIXTURE)).toBe(true);
  });

  it('statusWord: only matches AIML polls and replaces the status, without a video', async () => {
    emu.addFault({ kind: 'statusWord', word: 'weird' });
    const id = await createAiml(emu); // the create is not a poll: fault stays armed
    clock.advance(RENDER_MS);
    expect(await pollAiml(emu, id)).toEqual({ id, status: 'weird' });
    expect((await pollAiml(emu, id))['status']).toBe('completed');
    expect(emu.jobs.get(id)?.statusPolls).toBe(2);
  });

  it('matches service, method and pathIncludes; cdn faults use an XML body', async () => {
    emu.addFault({ service: 'cdn', kind: 'status', status: 503 });
    emu.addFault({ service: 'aimlapi', method: 'GET', pathIncludes: 'generation_id=nomatch', kind: 'status', status: 500 });
    const id = await createAiml(emu);
    clock.advance(RENDER_MS);
    const url = ((await pollAiml(emu, id))['video'] as { url: string }).url;
    const res = await fetch(url);
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('<Code>ServiceUnavailable</Code>');
    expect((await fetch(url)).status).toBe(200);
    const hit = await aiml(emu, `${AIML_CREATE}?generation_id=nomatch`);
    expect(hit.status).toBe(500);
    expect((await readJson(hit))['statusCode']).toBe(500);
  });

  it('clearFaults removes armed faults; invalid faults are refused', async () => {
    emu.addFault({ kind: 'status', status: 500, times: 10 });
    emu.clearFaults();
    expect((await aiml(emu, AIML_CREATE, { body: T2V })).status).toBe(200);
    expect(() => emu.addFault({ kind: 'status' })).toThrow(/status/);
    expect(() => emu.addFault({ kind: 'delay' })).toThrow(/ms/);
  });
});
