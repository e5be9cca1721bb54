/**
 * The logger against real client errors: a @slack/web-api call to a server that
 * resets the connection, and a discord.js REST upload answered with 502. Neither
 * the token, a header, nor the uploaded bytes may reach the log, and no line may
 * exceed 16 KB.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { REST } from '@discordjs/rest';
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_LINE_BYTES, maskUrl, scrubText } from '../src/log-safety.js';
import { createLogger } from '../src/logging.js';
import { findNeedles, formatFindings, secretNeedles } from './helpers/log-scan.js';

const SLACK_TOKEN = 'xoxb-1111111111-2222222222-abcdefABCDEFabcdefABCDEF';
const DISCORD_TOKEN = 'MTIzNDU2Nzg5MDEyMzQ1Njc4.GabcDE.abcdefghijklmnopqrstuvwxyz0123456789AB';
const AIML_KEY = 'aiml-test-key-0123456789';

function sink() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  return { lines, stream };
}

let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    if (req.url?.includes('/api/chat.postMessage')) {
      req.socket.destroy(); // a reset: @slack/web-api throws WebAPIRequestError with the original request attached
      return;
    }
    if (req.url?.includes('/channels/')) {
      req.on('end', () => res.writeHead(502, { 'content-type': 'text/html' }).end('<html>Bad Gateway</html>'));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

describe('logging real platform errors', () => {
  it('a Slack network failure logs neither the bot token nor any header', async () => {
    const client = new WebClient(SLACK_TOKEN, { slackApiUrl: `${base}/api/`, retryConfig: { retries: 0 }, timeout: 2000, logLevel: undefined });
    const err = await client.chat.postMessage({ channel: 'C1', text: 'hi' }).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('slack_webapi_request_error');
    // The real error does carry the token: this is what must not be written.
    expect(JSON.stringify((err as { original?: { config?: unknown } }).original?.config ?? {})).toContain(SLACK_TOKEN);

    const { lines, stream } = sink();
    const log = createLogger('info', stream);
    log.error({ err, jobId: 'j1' }, 'posting failed');
    log.warn({ error: err }, 'the same under another key');
    await new Promise((r) => setImmediate(r));
    const out = lines.join('\n');
    expect(lines).toHaveLength(2);
    expect(out).not.toContain(SLACK_TOKEN);
    expect(out).not.toMatch(/xoxb-/);
    expect(out.toLowerCase()).not.toContain('authorization');
    const entry = JSON.parse(lines[0]!) as { err: { type: string; code: string; message: string; cause?: { message: string } }; jobId: string };
    expect(entry.jobId).toBe('j1');
    expect(entry.err.code).toBe('slack_webapi_request_error');
    expect(entry.err.message).toMatch(/request error/i);
  });

  it('a failed Discord upload logs neither the file nor the token, and stays under 16 KB', async () => {
    const rest = new REST({ api: `${base}/api`, retries: 0, timeout: 5000 }).setToken(DISCORD_TOKEN);
    const video = Buffer.alloc(3 * 1024 * 1024, 0x61); // 3 MB of "a": would make a 4 MB line as base64 or a JSON array
    const err = await rest
      .post('/channels/123/messages', { files: [{ name: 'video.mp4', data: video }], body: { content: 'here it is' } })
      .catch((e: unknown) => e);
    expect((err as { status?: number }).status).toBe(502);
    expect((err as { requestBody?: { files?: unknown[] } }).requestBody?.files).toHaveLength(1);

    const { lines, stream } = sink();
    const log = createLogger('info', stream, [DISCORD_TOKEN]);
    log.warn({ err, jobId: 'j2', attempt: 1 }, 'upload failed');
    await new Promise((r) => setImmediate(r));
    expect(lines).toHaveLength(1);
    expect(Buffer.byteLength(lines[0]!)).toBeLessThan(MAX_LINE_BYTES);
    expect(lines[0]).not.toContain('aaaaaaaa');
    expect(lines[0]).not.toContain(DISCORD_TOKEN);
    const entry = JSON.parse(lines[0]!) as { err: { status: number; method: string; url: string } };
    expect(entry.err).toMatchObject({ status: 502, method: 'POST' });
    expect(entry.err.url).toContain('/channels/123/messages');
  });
});

describe('masking', () => {
  it('masks interaction and webhook tokens, Slack response URLs and query strings', () => {
    expect(maskUrl('https://discord.com/api/v10/interactions/1234567890/aW50ZXJhY3Rpb246dG9rZW4/callback')).toBe('https://discord.com/api/v10/interactions/1234567890/***/callback');
    expect(maskUrl('https://discord.com/api/v10/webhooks/987654321/aW50ZXJhY3Rpb24/messages/@original')).toBe('https://discord.com/api/v10/webhooks/987654321/***/messages/@original');
    expect(maskUrl('https://hooks.slack.com/commands/T0001/123456/abcDEF123')).toBe('https://hooks.slack.com/commands/***');
    expect(maskUrl('https://cdn.example/v.mp4?X-Tos-Signature=abc&X-Tos-Expires=3600')).toBe('https://cdn.example/v.mp4?***');
    expect(maskUrl('https://user:pass@host/x')).toBe('https://host/x');
  });

  it('masks configured secrets and token-shaped text anywhere in a line', () => {
    const line = `failed with key ${AIML_KEY} and ${SLACK_TOKEN}, header "Authorization: Bot ${DISCORD_TOKEN}", token ${DISCORD_TOKEN}`;
    const out = scrubText(line, [AIML_KEY]);
    for (const s of [AIML_KEY, SLACK_TOKEN, DISCORD_TOKEN]) expect(out).not.toContain(s);
    expect(out).toContain('failed with key ***');
  });

  it('masks the interaction token in a Discord webhook reference', () => {
    const out = scrubText('gone: discord:hook:900000000000000001:aW50ZXJhY3Rpb246MTIz%3AsecretPart:1700000000000:700:@original');
    expect(out).toBe('gone: discord:hook:900000000000000001:***:1700000000000:700:@original');
  });

  it('replaces a line over 16 KB with a short notice that keeps the level and message', async () => {
    const { lines, stream } = sink();
    const log = createLogger('info', stream);
    const many = Object.fromEntries(Array.from({ length: 39 }, (_, i) => [`k${i}`, 'x'.repeat(1900)]));
    log.info(many, 'a very wide object');
    log.info({ ok: true }, 'next line');
    await new Promise((r) => setImmediate(r));
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(Buffer.byteLength(l)).toBeLessThanOrEqual(MAX_LINE_BYTES);
    const notice = JSON.parse(lines[0]!) as { level: number; msg: string; truncated: string };
    expect(notice).toMatchObject({ level: 30, msg: 'a very wide object' });
    expect(notice.truncated).toMatch(/dropped/);
  });

  it('summarises binary values and bounds long strings and arrays', async () => {
    const { lines, stream } = sink();
    const log = createLogger('info', stream);
    log.info({ buf: Buffer.alloc(5000), list: Array.from({ length: 500 }, (_, i) => i), text: 'y'.repeat(10_000) }, 'values');
    await new Promise((r) => setImmediate(r));
    const entry = JSON.parse(lines[0]!) as { buf: string; list: unknown[]; text: string };
    expect(entry.buf).toBe('[5000 bytes]');
    expect(entry.list).toHaveLength(21);
    expect(entry.text.length).toBeLessThan(2100);
  });
});

describe('LOG_PRETTY', () => {
  const INTERACTION_TOKEN = 'aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDpzZWNyZXRUb2tlbg';
  const noColor = (l: string) => l.replace(/\x1b\[[0-9;]*m/g, ''); // eslint-disable-line no-control-regex

  async function logSecrets(opts: { pretty?: boolean }, tty = false) {
    const { lines, stream } = sink();
    if (tty) Object.assign(stream, { isTTY: true });
    const log = createLogger('info', stream, [DISCORD_TOKEN, AIML_KEY], opts);
    log.warn(
      {
        jobId: 'j9',
        detail: `key ${AIML_KEY}, slack ${SLACK_TOKEN}`,
        url: `https://discord.com/api/v10/interactions/1234567890/${INTERACTION_TOKEN}/callback`,
        nested: { auth: `Bot ${DISCORD_TOKEN}` },
      },
      'callback failed',
    );
    await new Promise((r) => setImmediate(r));
    return lines.map(noColor);
  }

  it('prints a readable line (level word, message, fields) with every secret still masked', async () => {
    const lines = await logSecrets({ pretty: true });
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(() => JSON.parse(line)).toThrow();
    expect(line).toMatch(/\bWARN\b/);
    expect(line).toContain('callback failed');
    expect(line).toContain('j9');
    expect(line).toContain('/interactions/1234567890/***/callback');
    const needles = [...secretNeedles('DISCORD_TOKEN', DISCORD_TOKEN), ...secretNeedles('SLACK_TOKEN', SLACK_TOKEN), ...secretNeedles('AIMLAPI_KEY', AIML_KEY), { label: 'interaction token', value: INTERACTION_TOKEN }];
    const found = findNeedles(lines, needles);
    expect(found, formatFindings('the pretty log', found)).toEqual([]);
  });

  it('is JSON, as before, with pretty off, even on a terminal; pretty by default on a terminal only', async () => {
    const json = await logSecrets({ pretty: false }, true);
    expect(JSON.parse(json[0]!)).toMatchObject({ level: 40, msg: 'callback failed', jobId: 'j9', url: 'https://discord.com/api/v10/interactions/1234567890/***/callback' });
    expect(json[0]).not.toContain(AIML_KEY);
    expect(JSON.parse((await logSecrets({}))[0]!)).toMatchObject({ msg: 'callback failed' });
    const onTerminal = (await logSecrets({}, true))[0]!;
    expect(() => JSON.parse(onTerminal)).toThrow();
    expect(onTerminal).toMatch(/\bWARN\b.*callback failed/);
  });

  it('prettifies the notice that replaces a line over 16 KB', async () => {
    const { lines, stream } = sink();
    const log = createLogger('info', stream, [], { pretty: true });
    log.info(Object.fromEntries(Array.from({ length: 39 }, (_, i) => [`k${i}`, 'x'.repeat(1900)])), 'a very wide object');
    await new Promise((r) => setImmediate(r));
    expect(lines).toHaveLength(1);
    expect(Buffer.byteLength(lines[0]!)).toBeLessThanOrEqual(MAX_LINE_BYTES);
    expect(noColor(lines[0]!)).toMatch(/INFO.*a very wide object.*dropped/);
  });
});
