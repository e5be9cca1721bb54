// The chaos hook over raw HTTP: a function asked about every REST call no queued fault matched.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { STANDIN_IDS, startDiscordStandin } from './discord-standin.js';
import type { ChaosRequest, DiscordStandin, FaultSpec } from './discord-standin.js';

let standin: DiscordStandin;
beforeEach(async () => {
  standin = await startDiscordStandin();
});
afterEach(async () => {
  await standin.close();
});

const MESSAGES = `/channels/${STANDIN_IDS.general}/messages`;

function rest(path: string, init: { method?: string; body?: unknown; signal?: AbortSignal } = {}): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bot ${standin.token}` };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  return fetch(`${standin.url}/api/v10${path}`, {
    method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'),
    headers,
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    ...(init.signal !== undefined ? { signal: init.signal } : {}),
  });
}

const post = (content: string, signal?: AbortSignal): Promise<Response> =>
  rest(MESSAGES, { body: { content }, ...(signal !== undefined ? { signal } : {}) });

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

const contents = (): string[] => [...standin.messages.values()].map((m) => m.content);

describe('discord stand-in chaos', () => {
  it('describes each REST call: method, path, query, route pattern and JSON body', async () => {
    const seen: ChaosRequest[] = [];
    standin.setChaos((req) => {
      seen.push(req);
      return undefined;
    });
    expect((await post('hello')).status).toBe(200);
    expect((await rest(`${MESSAGES}?limit=5`)).status).toBe(200);
    expect((await rest('/users/@me')).status).toBe(200);
    expect((await rest('/no/such/route')).status).toBe(404);
    expect(seen).toEqual([
      { method: 'POST', path: MESSAGES, query: {}, route: '/channels/:channelId/messages', body: { content: 'hello' } },
      { method: 'GET', path: MESSAGES, query: { limit: '5' }, route: '/channels/:channelId/messages', body: undefined },
      { method: 'GET', path: '/users/@me', query: {}, route: '/users/@me', body: undefined },
      { method: 'GET', path: '/no/such/route', query: {}, body: undefined },
    ]);
    expect(standin.calls.every((c) => c.fault === undefined)).toBe(true);
  });

  it('status: a chosen call gets the error; 429 carries retry-after and Discord’s {message, retry_after, global}', async () => {
    let posts = 0;
    standin.setChaos((req): FaultSpec | undefined => {
      if (req.route !== '/channels/:channelId/messages' || req.method !== 'POST') return undefined;
      posts += 1;
      if (posts === 1) return { status: 429 };
      if (posts === 2) return { status: 429, body: { message: 'You are being rate limited.', retry_after: 0.25, global: true } };
      if (posts === 3) return { status: 503 };
      return undefined;
    });
    const first = await post('one');
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('0.05');
    expect(await first.json()).toEqual({ message: 'You are being rate limited.', retry_after: 0.05, global: false });
    const second = await post('two');
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBe('0.25');
    expect(second.headers.get('x-ratelimit-global')).toBe('true');
    expect(await second.json()).toMatchObject({ retry_after: 0.25, global: true });
    const third = await post('three');
    expect(third.status).toBe(503);
    expect(await third.json()).toEqual({ code: 0, message: '503: Service Unavailable' });
    expect((await post('four')).status).toBe(200);
    expect((await rest('/users/@me')).status).toBe(200);
    expect(contents()).toEqual(['four']);
    expect(standin.calls.map((c) => [c.status, c.fault?.source])).toEqual([
      [429, 'chaos'],
      [429, 'chaos'],
      [503, 'chaos'],
      [200, undefined],
      [200, undefined],
    ]);
  });

  it('reset: the client sees the connection dropped; the call is recorded with status 0 and has no effect', async () => {
    standin.setChaos((req) => (req.method === 'POST' ? { reset: true } : undefined));
    expect(await fetchFailure(post('lost'))).toMatch(/other side closed|ECONNRESET|socket/i);
    expect(standin.calls).toHaveLength(1);
    expect(standin.calls[0]).toMatchObject({ method: 'POST', path: MESSAGES, status: 0, fault: { reset: true, source: 'chaos' } });
    expect(contents()).toEqual([]);
    expect((await rest('/users/@me')).status).toBe(200);
  });

  it('delay: a late but normal response; past the client timeout a hang; with reset a hang that ends in a drop', async () => {
    const faults: FaultSpec[] = [{ delayMs: 150 }, { delayMs: 250 }, { delayMs: 120, reset: true }];
    standin.setChaos((req) => (req.method === 'POST' ? faults.shift() : undefined));
    let t0 = Date.now();
    expect((await post('slow')).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    await expect(post('hung', AbortSignal.timeout(40))).rejects.toThrow(/abort|timeout/i);
    t0 = Date.now();
    expect(await fetchFailure(post('dropped'))).toMatch(/other side closed|ECONNRESET|socket/i);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(110);
    // The hung call was still handled once its delay was over, like a server that got it but answered too late.
    await standin.waitFor(() => contents().includes('hung'), 1000);
    expect(contents()).toEqual(['slow', 'hung']);
  });

  it('queued faults come first; clearFaults keeps chaos; setChaos(undefined) restores normal behaviour', async () => {
    standin.setChaos(() => ({ status: 500 }));
    standin.addFault({ method: 'POST', status: 502 });
    expect((await post('a')).status).toBe(502);
    expect((await post('b')).status).toBe(500);
    standin.clearFaults();
    expect((await post('c')).status).toBe(500);
    expect(standin.calls.map((c) => c.fault?.source)).toEqual(['queued', 'chaos', 'chaos']);
    standin.setChaos(undefined);
    expect((await post('d')).status).toBe(200);
    expect(contents()).toEqual(['d']);
  });

  it('queued faults can reset too; invalid faults are refused (chaos ones answer 500)', async () => {
    standin.addFault({ method: 'POST', reset: true });
    expect(await fetchFailure(post('x'))).toMatch(/other side closed|ECONNRESET|socket/i);
    expect(() => standin.addFault({ reset: true, status: 500 })).toThrow(/both/);
    expect(() => standin.addFault({ delayMs: -5 })).toThrow(/delayMs/);
    standin.setChaos(() => ({ pathIncludes: 'x' }));
    const res = await post('y');
    expect(res.status).toBe(500);
    expect(decodeURIComponent(res.headers.get('x-standin-error') ?? '')).toMatch(/Invalid chaos fault/);
  });

  it('endDelays() ends the delays under way: the calls then go on, even when their client has gone; later delays are kept', async () => {
    let held = 0;
    standin.setChaos((req) => (req.method === 'POST' ? (held++, { delayMs: 60_000 }) : undefined));
    const waiting = post('waited');
    const gone = new AbortController();
    const abandoned = post('abandoned', gone.signal);
    abandoned.catch(() => {});
    await standin.waitFor(() => held === 2, 1000);
    gone.abort();
    await expect(abandoned).rejects.toThrow(/abort/i);
    // Both calls are held: nothing answered, recorded or created yet.
    expect(standin.calls).toEqual([]);
    expect(contents()).toEqual([]);
    const t0 = Date.now();
    standin.endDelays();
    expect((await waiting).status).toBe(200);
    expect(Date.now() - t0).toBeLessThan(1000);
    await standin.waitFor(() => standin.calls.length === 2, 1000);
    expect(contents().sort()).toEqual(['abandoned', 'waited']);
    expect(standin.calls.map((c) => [c.status, c.fault?.delayMs, c.fault?.source])).toEqual([[200, 60_000, 'chaos'], [200, 60_000, 'chaos']]);
    // A delay that starts after endDelays() runs its course (here: longer than the client waits).
    await expect(post('later', AbortSignal.timeout(300))).rejects.toThrow(/abort|timeout/i);
    expect(held).toBe(3);
    expect(contents()).not.toContain('later');
    standin.endDelays();
    await standin.waitFor(() => contents().includes('later'), 1000);
  });

  it('close() cuts a long chaos delay short', async () => {
    let reached = false;
    standin.setChaos(() => {
      reached = true;
      return { delayMs: 60_000 };
    });
    const pending = post('never');
    pending.catch(() => {});
    await standin.waitFor(() => reached, 1000);
    const t0 = Date.now();
    await standin.close();
    expect(Date.now() - t0).toBeLessThan(1000);
    await expect(pending).rejects.toThrow(TypeError);
  });
});
