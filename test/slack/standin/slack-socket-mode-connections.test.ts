// The stand-in's Socket Mode with several connections open for one app, as when several instances of a bot run:
// envelopes spread over the open connections, and an events_api envelope left unacked comes again (retry_attempt,
// retry_reason 'timeout', the same payload), on another connection. Raw `ws` clients and unmodified Bolt apps.
import { App, SocketModeReceiver } from '@slack/bolt';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { capturingLogger } from './bolt-harness.js';
import { SLACK_RETRY_DELAYS_MS, startSlackStandin } from './slack-standin.js';
import type { SlackStandin, SlackStandinOptions } from './slack-standin.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function standin(opts: SlackStandinOptions = {}): Promise<SlackStandin> {
  const s = await startSlackStandin(opts);
  cleanups.push(() => s.close());
  return s;
}

interface RawClient {
  ws: WebSocket;
  /** Every envelope received (hello and disconnect messages left out). */
  envelopes: { envelope_id: string; type: string; payload: Record<string, unknown>; retry_attempt: number; retry_reason: string }[];
  hello?: Record<string, unknown>;
  /** Acks every envelope while true. */
  acking: boolean;
}

/** A raw Socket Mode client on a fresh ticket; it acks every envelope unless told not to. */
async function rawClient(s: SlackStandin, acking = true): Promise<RawClient> {
  const res = await fetch(`${s.url}/api/apps.connections.open`, { method: 'POST', headers: { authorization: `Bearer ${s.appToken}` } });
  const { url } = (await res.json()) as { url: string };
  const ws = new WebSocket(url);
  const client: RawClient = { ws, envelopes: [], acking };
  ws.on('message', (d: Buffer) => {
    const m = JSON.parse(d.toString()) as RawClient['envelopes'][number] & { type: string };
    if (m.type === 'hello') return void (client.hello = m);
    client.envelopes.push(m);
    if (client.acking) ws.send(JSON.stringify({ envelope_id: m.envelope_id, payload: {} }));
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  cleanups.push(async () => void ws.terminate());
  await s.waitFor(() => client.hello);
  return client;
}

const mention = (s: SlackStandin, text: string) => s.socket.appMention({ text: `<@${s.botUserId}> ${text}` });

describe('several Socket Mode connections for one app', () => {
  it('spreads envelopes over the open connections in turn, or sends on the one named', async () => {
    const s = await standin();
    const a = await rawClient(s);
    const b = await rawClient(s);
    expect([a.hello?.num_connections, b.hello?.num_connections]).toEqual([1, 2]);
    expect(s.socket.openConnections).toEqual([1, 2]);

    const sent = [];
    for (const n of [1, 2, 3, 4]) sent.push(await s.socket.event(mention(s, `event ${n}`)));
    expect(sent.map((r) => r.connection).sort()).toEqual([1, 1, 2, 2]);
    expect(sent[0]!.connection).not.toBe(sent[1]!.connection);
    expect(a.envelopes).toHaveLength(2);
    expect(b.envelopes).toHaveLength(2);
    expect(s.socket.acks.map((k) => k.connection)).toEqual(sent.map((r) => r.connection));

    const named = await s.socket.command({ command: '/video', text: 'to the second' }, { connection: 2 });
    expect(named).toMatchObject({ connection: 2, retryAttempt: 0 });
    expect(b.envelopes.at(-1)).toMatchObject({ type: 'slash_commands', envelope_id: named.envelopeId });

    a.ws.close();
    await s.waitFor(() => s.socket.connections === 1);
    expect(s.socket.openConnections).toEqual([2]);
    for (const n of [5, 6]) expect((await s.socket.event(mention(s, `event ${n}`))).connection).toBe(2);
    await expect(s.socket.event(mention(s, 'to a closed one'), { connection: 1 })).rejects.toThrow('Socket Mode connection 1 is not open (open: 2)');
  });

  it('retries an unacked events_api envelope on the next connection: a new envelope_id, the same payload, retry_attempt 1, reason timeout', async () => {
    const s = await standin({ socketAckTimeoutMs: 200, socketRetryDelaysMs: [0, 0, 0] });
    const deaf = await rawClient(s, false);
    const ok = await rawClient(s);
    const body = mention(s, 'once more');
    const sent = await s.socket.event(body, { eventId: 'Ev0SPREAD01', connection: [1, 2] });
    expect(sent).toMatchObject({ connection: 2, retryAttempt: 1 });
    expect(sent.deliveries.map((d) => [d.connection, d.retryAttempt, d.retryReason])).toEqual([
      [1, 0, ''],
      [2, 1, 'timeout'],
    ]);
    expect(deaf.envelopes).toHaveLength(1);
    expect(ok.envelopes).toEqual([expect.objectContaining({ envelope_id: sent.envelopeId, type: 'events_api', retry_attempt: 1, retry_reason: 'timeout' })]);
    expect(ok.envelopes[0]!.envelope_id).not.toBe(deaf.envelopes[0]!.envelope_id);
    expect(ok.envelopes[0]!.payload).toEqual(deaf.envelopes[0]!.payload);
    expect(ok.envelopes[0]!.payload).toMatchObject({ type: 'event_callback', event_id: 'Ev0SPREAD01' });

    // Without connections named, the first delivery goes to the next in turn (the first one here) and its retry to
    // the one after.
    const next = await s.socket.event(mention(s, 'round and round'), { eventId: 'Ev0SPREAD02' });
    expect(next.deliveries.map((d) => [d.connection, d.retryAttempt])).toEqual([
      [1, 0],
      [2, 1],
    ]);

    // The first connection's ack, once it comes, is too late to count.
    deaf.ws.send(JSON.stringify({ envelope_id: deaf.envelopes[0]!.envelope_id, payload: {} }));
    await s.waitFor(() => s.socket.acks.find((k) => k.envelopeId === deaf.envelopes[0]!.envelope_id));
    expect(s.socket.acks.find((k) => k.envelopeId === deaf.envelopes[0]!.envelope_id)).toMatchObject({ connection: 1, ignored: 'late' });
    expect(s.socket.acks.find((k) => k.envelopeId === sent.envelopeId)!.ignored).toBeUndefined();
  });

  it('retries after a lost ack, up to the last retry, and never retries slash commands or interactions', async () => {
    const s = await standin({ socketAckTimeoutMs: 150 });
    await rawClient(s);
    await rawClient(s);
    const once = await s.socket.event(mention(s, 'lost once'), { loseAcks: 1, retryDelaysMs: [0] });
    expect(once.retryAttempt).toBe(1);
    expect(s.socket.acks.filter((k) => once.deliveries.some((d) => d.envelopeId === k.envelopeId)).map((k) => k.ignored)).toEqual(['lost', undefined]);

    const before = s.socket.envelopes.length;
    await expect(s.socket.event(mention(s, 'lost for good'), { loseAcks: 3, retryDelaysMs: [0, 0] })).rejects.toThrow(/no ack for events_api envelope \S+ within 150 ms \(nor for its 2 retries\)/);
    expect(s.socket.envelopes.slice(before).map((e) => [e.retryAttempt, e.retryReason])).toEqual([
      [0, ''],
      [1, 'timeout'],
      [2, 'timeout'],
    ]);

    const n = s.socket.envelopes.length;
    await expect(s.socket.command({ command: '/video', text: 'x' }, { loseAcks: 1, retryDelaysMs: [0] })).rejects.toThrow(/no ack for slash_commands envelope \S+ within 150 ms$/);
    await expect(s.socket.interactive(s.socket.globalShortcut({ callbackId: 'make_video' }), { loseAcks: 1, retryDelaysMs: [0] })).rejects.toThrow('no ack for interactive envelope');
    expect(s.socket.envelopes).toHaveLength(n + 2);
    expect(SLACK_RETRY_DELAYS_MS).toEqual([0, 60_000, 300_000]);
  });

  it('delivers an event sent while no connection was open as a retry, once one opens', async () => {
    const s = await standin({ socketRetryDelaysMs: [1500] });
    const sending = s.socket.event(mention(s, 'while away'));
    const client = await rawClient(s);
    const sent = await sending;
    expect(sent).toMatchObject({ connection: 1, retryAttempt: 1 });
    expect(client.envelopes).toEqual([expect.objectContaining({ retry_attempt: 1, retry_reason: 'timeout' })]);
  });
});

describe('two unmodified Bolt apps in Socket Mode on one stand-in', () => {
  async function boltApp(s: SlackStandin, name: string, seen: { app: string; text: string; retryNum?: number; retryReason?: string }[]): Promise<App> {
    const logs: string[] = [];
    const logger = capturingLogger(logs);
    const slackApiUrl = `${s.url}/api/`;
    const receiver = new SocketModeReceiver({ appToken: s.appToken, logger, installerOptions: { clientOptions: { slackApiUrl, retryConfig: { retries: 0 } } } });
    const app = new App({ token: s.botToken, receiver, logger, clientOptions: { slackApiUrl, retryConfig: { retries: 0 } } });
    app.event('app_mention', async ({ event, context }) => {
      seen.push({ app: name, text: event.text, retryNum: context.retryNum, retryReason: context.retryReason });
    });
    cleanups.push(async () => {
      await app.stop().catch(() => undefined);
    });
    await app.start();
    return app;
  }

  it('each gets some of the events, and a retry after a lost ack reaches the other app with its retry number', async () => {
    const s = await standin({ socketAckTimeoutMs: 300 });
    const seen: { app: string; text: string; retryNum?: number; retryReason?: string }[] = [];
    await boltApp(s, 'first', seen);
    await s.waitForSocket(5000, 1);
    await boltApp(s, 'second', seen);
    await s.waitForSocket(5000, 2);

    for (const n of [1, 2, 3, 4]) await s.socket.event(mention(s, `hello ${n}`));
    await s.waitFor(() => seen.length === 4);
    expect(seen.filter((e) => e.app === 'first')).toHaveLength(2);
    expect(seen.filter((e) => e.app === 'second')).toHaveLength(2);
    expect(seen.every((e) => e.retryNum === 0 && e.retryReason === '')).toBe(true);

    const sent = await s.socket.event(mention(s, 'say it twice'), { connection: [1, 2], loseAcks: 1, retryDelaysMs: [0] });
    expect(sent).toMatchObject({ connection: 2, retryAttempt: 1 });
    await s.waitFor(() => seen.length === 6);
    expect(seen.slice(4)).toEqual([
      { app: 'first', text: `<@${s.botUserId}> say it twice`, retryNum: 0, retryReason: '' },
      { app: 'second', text: `<@${s.botUserId}> say it twice`, retryNum: 1, retryReason: 'timeout' },
    ]);
  });
});
