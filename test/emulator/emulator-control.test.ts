import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AIML_CREATE, SEGMIND_BODY, SEGMIND_SLUG, aiml, createAiml, readJson, segmind, startTestBed } from './test-helpers.js';
import type { ProviderEmulator } from './provider-emulator.js';

let emu: ProviderEmulator;

beforeEach(async () => {
  ({ emu } = await startTestBed());
});
afterEach(async () => {
  await emu.close();
});

const T2V = { model: 'bytedance/seedance-1-0-lite-t2v', prompt: 'x' };

function control(base: string, path: string, method = 'GET', body?: unknown): Promise<Response> {
  return fetch(`${base}/__emulator/${path}`, {
    method,
    ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
  });
}

describe('HTTP control API', () => {
  it('lists jobs and requests, on both servers, without recording itself', async () => {
    const id = await createAiml(emu);
    for (const base of [emu.aimlapiUrl, emu.segmindUrl]) {
      const jobs = (await (await control(base, 'jobs')).json()) as { id: string; model: string }[];
      expect(jobs.map((j) => j.id)).toEqual([id]);
      const requests = (await (await control(base, 'requests')).json()) as { path: string; status: number }[];
      expect(requests).toEqual([expect.objectContaining({ path: AIML_CREATE, status: 200 })]);
    }
    expect(emu.requests).toHaveLength(1);
  });

  it('arms and clears faults', async () => {
    expect((await control(emu.segmindUrl, 'faults', 'POST', { service: 'aimlapi', kind: 'status', status: 503, times: 3 })).status).toBe(201);
    expect((await aiml(emu, AIML_CREATE, { body: T2V })).status).toBe(503);
    expect((await control(emu.aimlapiUrl, 'faults', 'DELETE')).status).toBe(200);
    expect((await aiml(emu, AIML_CREATE, { body: T2V })).status).toBe(200);
    const bad = await control(emu.aimlapiUrl, 'faults', 'POST', { kind: 'explode' });
    expect(bad.status).toBe(400);
    expect((await readJson(bad))['error']).toMatch(/kind/);
  });

  it('changes settings (partially) and validates them', async () => {
    const res = await control(emu.aimlapiUrl, 'settings', 'POST', { statusCodeAsString: true, failNext: 2 });
    expect(res.status).toBe(200);
    expect(emu.settings).toMatchObject({ statusCodeAsString: true, failNext: 2, completedWord: 'completed', createStatus: 'auto' });
    expect((await control(emu.aimlapiUrl, 'settings', 'POST', { createStatus: 202 })).status).toBe(400);
    expect((await control(emu.aimlapiUrl, 'settings', 'POST', { pendingWords: ['one'] })).status).toBe(400);
    expect(emu.settings.createStatus).toBe('auto');
  });

  it('sets credits (null = unlimited)', async () => {
    expect((await control(emu.segmindUrl, 'credits', 'POST', { segmind: 0 })).status).toBe(200);
    expect((await segmind(emu, `/v2/${SEGMIND_SLUG}`, { body: SEGMIND_BODY })).status).toBe(406);
    const res = await control(emu.segmindUrl, 'credits', 'POST', { segmind: null, aimlapi: 3 });
    expect(await res.json()).toEqual({ aimlapi: 3, segmind: null });
    expect(emu.credits).toEqual({ aimlapi: 3, segmind: Infinity });
    expect((await segmind(emu, `/v2/${SEGMIND_SLUG}`, { body: SEGMIND_BODY })).status).toBe(200);
  });

  it('resets state', async () => {
    await createAiml(emu);
    emu.settings.failNext = 4;
    emu.credits.aimlapi = 1;
    expect((await control(emu.aimlapiUrl, 'reset', 'POST')).status).toBe(200);
    expect(emu.jobs.size).toBe(0);
    expect(emu.requests).toHaveLength(0);
    expect(emu.settings.failNext).toBe(0);
    expect(emu.credits.aimlapi).toBe(Infinity);
  });
});

describe('emulator object', () => {
  it('count() filters recorded requests by service, method and path', async () => {
    const id = await createAiml(emu);
    await aiml(emu, `${AIML_CREATE}?generation_id=${id}`);
    await aiml(emu, `${AIML_CREATE}?generation_id=${id}`);
    await segmind(emu, `/v2/${SEGMIND_SLUG}`, { body: SEGMIND_BODY });
    expect(emu.count({})).toBe(4);
    expect(emu.count({ service: 'aimlapi' })).toBe(3);
    expect(emu.count({ service: 'aimlapi', method: 'get' })).toBe(2);
    expect(emu.count({ pathIncludes: 'generation_id=' })).toBe(2);
    expect(emu.count({ service: 'segmind', method: 'POST' })).toBe(1);
    expect(emu.requests[0]?.headers['authorization']).toBe('Bearer test-aiml-key');
    expect(emu.requests[1]?.query).toEqual({ generation_id: id });
  });

  it('close() ends an in-flight Segmind v1 request and stops listening', async () => {
    await emu.close();
    ({ emu } = await startTestBed({ renderMs: () => 60_000 }));
    const pending = segmind(emu, `/v1/${SEGMIND_SLUG}`, { body: SEGMIND_BODY });
    while (emu.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    await emu.close();
    await expect(pending).rejects.toThrow();
    await expect(fetch(`${emu.aimlapiUrl}/v2/video/generations`)).rejects.toThrow();
  });
});

describe('main.ts', () => {
  it('starts on the env ports, prints the env lines, serves, and stops on SIGTERM', async () => {
    const main = fileURLToPath(new URL('./main.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', main], {
      env: { ...process.env, EMULATOR_AIMLAPI_PORT: '0', EMULATOR_SEGMIND_PORT: '0', EMULATOR_TIME_SCALE: '0.001' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('SEGMIND_API_KEY=')) resolve();
      });
      child.once('exit', () => reject(new Error(`exited early: ${out}`)));
    });
    const aimlUrl = /^AIMLAPI_BASE_URL=(\S+)$/m.exec(out)?.[1];
    const segmindUrl = /^SEGMIND_BASE_URL=(\S+)$/m.exec(out)?.[1];
    expect(aimlUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(segmindUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(out).toMatch(/^AIMLAPI_KEY=test-aiml-key$/m);
    expect(out).toMatch(/^SEGMIND_API_KEY=test-segmind-key$/m);
    const res = await fetch(`${aimlUrl}/v2/video/generations`, {
      method: 'POST',
      headers: { authorization: 'Bearer test-aiml-key', 'content-type': 'application/json' },
      body: JSON.stringify({ ...T2V, model: 'bytedance/seedance-1-0-pro-i2v', image_url: 'https://e.com/a.png' }),
    });
    expect(res.status).toBe(200);
    const jobs = (await (await fetch(`${segmindUrl}/__emulator/jobs`)).json()) as { createdAt: number; readyAt: number }[];
    expect(jobs[0] && jobs[0].readyAt - jobs[0].createdAt).toBe(56); // 56 s realistic × 0.001
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
