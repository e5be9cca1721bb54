// The shared undici wrapper: Retry-After parsing, network error classification, JSON calls, the dispatcher.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, EnvHttpProxyAgent } from 'undici';
import type { Dispatcher } from 'undici';
import { NetworkError, callJson, createDispatcher, header, retryAfterMs, toNetworkError } from '../../src/http/http-client.js';

describe('retryAfterMs', () => {
  const NOW = Date.UTC(2025, 6, 21, 14, 0, 0);

  it('reads seconds', () => {
    expect(retryAfterMs({ 'retry-after': '7' }, NOW)).toBe(7000);
    expect(retryAfterMs({ 'retry-after': '0' }, NOW)).toBe(0);
    expect(retryAfterMs({ 'retry-after': '1.5' }, NOW)).toBe(1500);
  });

  it('reads an HTTP date relative to now', () => {
    expect(retryAfterMs({ 'retry-after': new Date(NOW + 12_000).toUTCString() }, NOW)).toBe(12_000);
    // A date in the past means "now".
    expect(retryAfterMs({ 'retry-after': new Date(NOW - 5000).toUTCString() }, NOW)).toBe(0);
  });

  it('is undefined when absent, empty or unreadable', () => {
    expect(retryAfterMs({}, NOW)).toBeUndefined();
    expect(retryAfterMs({ 'retry-after': '' }, NOW)).toBeUndefined();
    expect(retryAfterMs({ 'retry-after': 'soon' }, NOW)).toBeUndefined();
  });

  it('caps at 60 s and never goes negative', () => {
    expect(retryAfterMs({ 'retry-after': '3600' }, NOW)).toBe(60_000);
    expect(retryAfterMs({ 'retry-after': new Date(NOW + 3_600_000).toUTCString() }, NOW)).toBe(60_000);
    expect(retryAfterMs({ 'retry-after': '-3' }, NOW)).toBe(0);
  });

  it('takes the first of repeated headers', () => {
    expect(retryAfterMs({ 'retry-after': ['2', '30'] }, NOW)).toBe(2000);
    expect(header({ 'x-a': ['1', '2'] }, 'X-A')).toBe('1');
  });
});

describe('toNetworkError', () => {
  it('classifies a refused connection as not sent', () => {
    const n = toNetworkError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }));
    expect(n).toBeInstanceOf(NetworkError);
    expect(n).toMatchObject({ errorCode: 'ECONNREFUSED', notSent: true });
    expect(n.message).toContain('ECONNREFUSED');
  });

  it('classifies a reset as possibly sent', () => {
    expect(toNetworkError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toMatchObject({ errorCode: 'ECONNRESET', notSent: false });
    expect(toNetworkError(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' })).notSent).toBe(false);
  });

  it('reads the code from the cause, and defaults to UNKNOWN, possibly sent', () => {
    const wrapped = new TypeError('fetch failed', { cause: Object.assign(new Error('getaddrinfo ENOTFOUND x.invalid'), { code: 'ENOTFOUND' }) });
    expect(toNetworkError(wrapped)).toMatchObject({ errorCode: 'ENOTFOUND', notSent: true });
    expect(toNetworkError('boom')).toMatchObject({ errorCode: 'UNKNOWN', notSent: false });
    expect(toNetworkError(undefined)).toMatchObject({ errorCode: 'UNKNOWN', notSent: false });
  });

  it('names an abort by its DOMException name, not its numeric code', () => {
    const n = toNetworkError(new DOMException('This operation was aborted', 'AbortError'));
    expect(n.errorCode).toBe('AbortError');
    expect(n.notSent).toBe(false);
  });
});

describe('callJson (real HTTP)', () => {
  let srv: Server;
  let base: string;
  let dispatcher: Dispatcher;
  const seen: { method?: string; headers?: Record<string, unknown>; body?: string }[] = [];

  beforeAll(async () => {
    srv = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        seen.push({ method: req.method, headers: req.headers, body });
        const path = req.url ?? '/';
        if (path === '/json') res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
        else if (path === '/untyped-json') res.writeHead(200).end(' [1,2]');
        else if (path === '/broken-json') res.writeHead(502, { 'content-type': 'application/json' }).end('{"oops"');
        else if (path === '/long-error') res.writeHead(500, { 'content-type': 'text/plain' }).end('x'.repeat(10_000));
        else if (path === '/long-ok') res.writeHead(200, { 'content-type': 'text/plain' }).end('y'.repeat(10_000));
        else if (path === '/reset') req.socket.destroy();
        else res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>nope</h1>');
      });
    });
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    dispatcher = createDispatcher({});
  });
  afterAll(async () => {
    await dispatcher.close();
    srv.closeAllConnections();
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  });

  it('sends JSON with the given headers and parses a JSON answer', async () => {
    const res = await callJson(dispatcher, `${base}/json`, { method: 'POST', headers: { 'x-api-key': 'k' }, json: { a: 1 }, timeoutMs: 5000 });
    expect(res).toMatchObject({ status: 200, body: { ok: true }, contentType: 'application/json' });
    const req = seen[seen.length - 1]!;
    expect(req).toMatchObject({ method: 'POST', body: '{"a":1}' });
    expect(req.headers).toMatchObject({ 'content-type': 'application/json', accept: 'application/json', 'x-api-key': 'k' });
  });

  it('sends no body and no content type on a GET', async () => {
    await callJson(dispatcher, `${base}/json`, { method: 'GET', headers: {}, timeoutMs: 5000 });
    const req = seen[seen.length - 1]!;
    expect(req.body).toBe('');
    expect(req.headers?.['content-type']).toBeUndefined();
  });

  it('parses JSON without a JSON content type, and keeps broken JSON as text', async () => {
    expect((await callJson(dispatcher, `${base}/untyped-json`, { method: 'GET', headers: {}, timeoutMs: 5000 })).body).toEqual([1, 2]);
    const broken = await callJson(dispatcher, `${base}/broken-json`, { method: 'GET', headers: {}, timeoutMs: 5000 });
    expect(broken).toMatchObject({ status: 502, body: '{"oops"' });
  });

  it('truncates long error bodies but not long successful ones', async () => {
    const err = await callJson(dispatcher, `${base}/long-error`, { method: 'GET', headers: {}, timeoutMs: 5000 });
    expect((err.body as string).length).toBe(4000);
    const ok = await callJson(dispatcher, `${base}/long-ok`, { method: 'GET', headers: {}, timeoutMs: 5000 });
    expect((ok.body as string).length).toBe(10_000);
  });

  it('throws a NetworkError (possibly sent) on a reset', async () => {
    const err = await callJson(dispatcher, `${base}/reset`, { method: 'POST', headers: {}, json: {}, timeoutMs: 5000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as NetworkError).notSent).toBe(false);
  });

  it('throws a NetworkError (not sent) for a refused connection', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const err = await callJson(dispatcher, `http://127.0.0.1:${port}/`, { method: 'POST', headers: {}, json: {}, timeoutMs: 5000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect(err).toMatchObject({ errorCode: 'ECONNREFUSED', notSent: true });
  });
});

describe('createDispatcher', () => {
  it('uses a plain Agent without proxy variables and a proxy agent with them', async () => {
    const plain = createDispatcher({});
    const proxied = createDispatcher({ HTTPS_PROXY: 'http://127.0.0.1:3128' });
    try {
      expect(plain).toBeInstanceOf(Agent);
      expect(proxied).toBeInstanceOf(EnvHttpProxyAgent);
    } finally {
      await Promise.all([plain.close(), proxied.close()]);
    }
  });
});
