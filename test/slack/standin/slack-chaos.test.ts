// The chaos hook over raw HTTP: a function asked about every request no queued fault matched.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSlackStandin } from './slack-standin.js';
import type { ChaosRequest, FaultSpec, SlackStandin } from './slack-standin.js';

let s: SlackStandin;
beforeEach(async () => {
  s = await startSlackStandin();
});
afterEach(async () => {
  await s.close();
});

function api(method: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<Response> {
  return fetch(`${s.url}/api/${method}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.botToken}`, 'content-type': 'application/json; charset=utf-8' },
    body: JSON.stringify(args),
    ...(signal !== undefined ? { signal } : {}),
  });
}

const post = (text: string, signal?: AbortSignal): Promise<Response> => api('chat.postMessage', { channel: 'C0GENERAL', text }, signal);
const texts = (): string[] => s.messages.map((m) => m.text);

/** The message and cause of a failed fetch. */
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

describe('slack stand-in chaos', () => {
  it('describes each request: API method name (or UPLOAD / FILE_GET / RESPONSE_URL), HTTP method and path', async () => {
    const seen: ChaosRequest[] = [];
    s.setChaos((req) => {
      seen.push(req);
      return undefined;
    });
    expect((await (await post('hi')).json()) as unknown).toMatchObject({ ok: true });
    const upload = (await (await api('files.getUploadURLExternal', { filename: 'a.mp4', length: 4 })).json()) as { upload_url: string; file_id: string };
    expect((await fetch(upload.upload_url, { method: 'POST', body: Buffer.from('abcd') })).status).toBe(200);
    const file = s.addUserFile({ name: 'cat.png', mimetype: 'image/png', data: Buffer.from('png') });
    expect((await fetch(file.url_private, { headers: { authorization: `Bearer ${s.botToken}` } })).status).toBe(200);
    const hook = `${s.url}/hooks/response/C0GENERAL/U0ALICE/-/r1`;
    expect((await fetch(hook, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"eph"}' })).status).toBe(200);
    expect((await fetch(`${s.url}/elsewhere`)).status).toBe(404); // not a Slack route: never offered to chaos

    const filePath = new URL(file.url_private).pathname;
    expect(seen).toEqual([
      { method: 'chat.postMessage', httpMethod: 'POST', path: '/api/chat.postMessage' },
      { method: 'files.getUploadURLExternal', httpMethod: 'POST', path: '/api/files.getUploadURLExternal' },
      { method: 'UPLOAD', httpMethod: 'POST', path: `/upload/${upload.file_id}` },
      { method: 'FILE_GET', httpMethod: 'GET', path: filePath },
      { method: 'RESPONSE_URL', httpMethod: 'POST', path: '/hooks/response/C0GENERAL/U0ALICE/-/r1' },
    ]);
    expect(s.calls.every((c) => c.fault === undefined)).toBe(true);
  });

  it('status: a chosen call gets 429 with Retry-After and {ok:false,error:"ratelimited"}, or another error', async () => {
    const faults: FaultSpec[] = [{ status: 429, retryAfterSeconds: 2 }, { status: 429 }, { status: 503 }, { error: 'fatal_error' }];
    s.setChaos((req) => (req.method === 'chat.postMessage' ? faults.shift() : undefined));
    const limited = await post('one');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');
    expect(await limited.json()).toEqual({ ok: false, error: 'ratelimited' });
    const limitedDefault = await post('two');
    expect(limitedDefault.status).toBe(429);
    expect(limitedDefault.headers.get('retry-after')).toBe('1');
    const unavailable = await post('three');
    expect(unavailable.status).toBe(503);
    expect(await unavailable.json()).toEqual({ ok: false, error: 'internal_error' });
    const fatal = await post('four');
    expect([fatal.status, await fatal.json()]).toEqual([200, { ok: false, error: 'fatal_error' }]);
    expect(((await (await api('auth.test', {})).json()) as { ok: boolean }).ok).toBe(true);
    expect((await post('five')).status).toBe(200);
    expect(texts()).toEqual(['five']);
    expect(s.calls.map((c) => [c.method, c.status, c.fault?.source])).toEqual([
      ['chat.postMessage', 429, 'chaos'],
      ['chat.postMessage', 429, 'chaos'],
      ['chat.postMessage', 503, 'chaos'],
      ['chat.postMessage', 200, 'chaos'],
      ['auth.test', 200, undefined],
      ['chat.postMessage', 200, undefined],
    ]);
  });

  it('reset: the client sees the connection dropped; the call is recorded with status 0 and has no effect', async () => {
    s.setChaos((req) => (req.method === 'chat.postMessage' ? { reset: true } : undefined));
    expect(await fetchFailure(post('lost'))).toMatch(/other side closed|ECONNRESET|socket/i);
    expect(s.calls).toHaveLength(1);
    expect(s.calls[0]).toMatchObject({ method: 'chat.postMessage', status: 0, response: undefined, fault: { reset: true, source: 'chaos' } });
    expect(texts()).toEqual([]);
    expect((await api('auth.test', {})).status).toBe(200);
  });

  it('delay: a late but normal response; past the client timeout a hang; with reset a hang that ends in a drop', async () => {
    const faults: FaultSpec[] = [{ delayMs: 150 }, { delayMs: 250 }, { delayMs: 120, reset: true }];
    s.setChaos((req) => (req.method === 'chat.postMessage' ? faults.shift() : undefined));
    let t0 = Date.now();
    expect((await post('slow')).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    await expect(post('hung', AbortSignal.timeout(40))).rejects.toThrow(/abort|timeout/i);
    t0 = Date.now();
    expect(await fetchFailure(post('dropped'))).toMatch(/other side closed|ECONNRESET|socket/i);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(110);
    // The hung call was still handled once its delay was over, like a server that answered too late.
    await s.waitFor(() => texts().includes('hung'), 1000);
    expect(texts()).toEqual(['slow', 'hung']);
  });

  it('queued faults come first; setChaos(undefined) restores normal behaviour', async () => {
    s.setChaos(() => ({ status: 500 }));
    s.addFault({ method: 'chat.postMessage', status: 502 });
    expect((await post('a')).status).toBe(502);
    expect((await post('b')).status).toBe(500);
    expect(s.calls.map((c) => c.fault?.source)).toEqual(['queued', 'chaos']);
    s.setChaos(undefined);
    expect((await post('c')).status).toBe(200);
    expect(texts()).toEqual(['c']);
  });

  it('queued faults can reset too; invalid faults are refused (chaos ones answer 500)', async () => {
    s.addFault({ method: 'chat.postMessage', reset: true });
    expect(await fetchFailure(post('x'))).toMatch(/other side closed|ECONNRESET|socket/i);
    expect(() => s.addFault({ reset: true, error: 'nope' })).toThrow(/reset cannot be combined/);
    expect(() => s.addFault({ delayMs: Number.NaN })).toThrow(/delayMs/);
    s.setChaos(() => ({ method: 'chat.update' }));
    const res = await post('y');
    expect(res.status).toBe(500);
    expect(await res.text()).toMatch(/invalid chaos fault/);
  });

  it('close() cuts a long chaos delay short', async () => {
    let reached = false;
    s.setChaos(() => {
      reached = true;
      return { delayMs: 60_000 };
    });
    const pending = post('never');
    pending.catch(() => {});
    await s.waitFor(() => reached, 1000);
    const t0 = Date.now();
    await s.close();
    expect(Date.now() - t0).toBeLessThan(1000);
    await expect(pending).rejects.toThrow(TypeError);
  });
});
