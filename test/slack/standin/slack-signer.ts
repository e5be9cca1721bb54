// Sends correctly signed (v0 HMAC-SHA256) Slack requests to a Bolt HTTP receiver's /slack/events.
import { createHmac } from 'node:crypto';
import * as payloads from './slack-payloads.js';
import type { AppHomeOpenedInput, BlockActionInput, MessageEventInput, PayloadContext, ShortcutMessage, SlashCommandInput, ViewBlockActionInput, ViewSubmissionInput } from './slack-payloads.js';
import type { SlackFileObject } from './types.js';

export type { AppHomeOpenedInput, BlockActionInput, MessageEventInput, ShortcutMessage, SlashCommandInput, ViewBlockActionInput, ViewSubmissionInput } from './slack-payloads.js';

export interface SlackResponse {
  status: number;
  body: string;
  headers: Headers;
}

export interface SlackSender {
  /** Wraps `event` in an event_callback envelope and POSTs it as JSON. `retryNum` adds x-slack-retry-num/-reason headers. */
  event(event: Record<string, unknown>, opts?: { teamId?: string; eventId?: string; retryNum?: number; retryReason?: string }): Promise<SlackResponse>;
  /** Form-encoded slash command (team_id, team_domain, channel_id, channel_name, user_id, user_name, command, text, api_app_id, response_url, trigger_id…). */
  command(p: SlashCommandInput): Promise<SlackResponse>;
  /** Form-encoded `payload=<json>`. */
  interactive(payload: Record<string, unknown>): Promise<SlackResponse>;
  /** The url_verification handshake; Bolt answers with the challenge. */
  urlVerification(challenge: string): Promise<SlackResponse>;
  /** POSTs a raw body; `signature` / `timestamp` override the correct ones (to test rejection). */
  sendRaw(p: { body: string; contentType: string; signature?: string; timestamp?: number; headers?: Record<string, string> }): Promise<SlackResponse>;
  globalShortcut(p: { callbackId: string; userId?: string }): Record<string, unknown>;
  messageShortcut(p: { callbackId: string; userId?: string; channelId?: string; message: ShortcutMessage }): Record<string, unknown>;
  viewSubmission(p: ViewSubmissionInput): Record<string, unknown>;
  blockAction(p: BlockActionInput): Record<string, unknown>;
  /** A button on a view (the Home tab by default): container {type:'view'}, no channel or response_url. */
  viewBlockAction(p: ViewBlockActionInput): Record<string, unknown>;
  appMention(p: MessageEventInput): Record<string, unknown>;
  /** A `message` event; in a D… channel it carries channel_type 'im' (a message in the bot's DM). */
  message(p: MessageEventInput & { subtype?: string }): Record<string, unknown>;
  /** The app_home_opened event: {type, user, channel, tab, event_ts[, view]}. */
  appHomeOpened(p?: AppHomeOpenedInput): Record<string, unknown>;
}

/** `v0=` + hex HMAC-SHA256(secret, `v0:${timestamp}:${rawBody}`). */
export function signSlackRequest(signingSecret: string, timestampSeconds: number, rawBody: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestampSeconds}:${rawBody}`).digest('hex')}`;
}

export function createSlackSender(p: {
  /** Bolt receiver base, e.g. http://127.0.0.1:PORT (requests go to `${url}${path}`). */
  url: string;
  signingSecret: string;
  teamId?: string;
  apiAppId?: string;
  botUserId?: string;
  /** Receiver path; default '/slack/events'. */
  path?: string;
  /** When set (e.g. standin.url), response_url values point at the stand-in's /hooks/response/… */
  responseUrlBase?: string;
  now?: () => number;
}): SlackSender {
  const now = p.now ?? Date.now;
  const ctx: PayloadContext = {
    teamId: p.teamId ?? 'T0000TEST',
    teamDomain: 'standin',
    apiAppId: p.apiAppId ?? 'A0STANDIN',
    botUserId: p.botUserId ?? 'U0BOT0001',
    responseUrlBase: p.responseUrlBase,
    now,
  };
  const endpoint = `${p.url.replace(/\/$/, '')}${p.path ?? '/slack/events'}`;

  const sendRaw: SlackSender['sendRaw'] = async (r) => {
    const ts = r.timestamp ?? Math.floor(now() / 1000);
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': r.contentType,
        'x-slack-request-timestamp': String(ts),
        'x-slack-signature': r.signature ?? signSlackRequest(p.signingSecret, ts, r.body),
        'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
        ...r.headers,
      },
      body: r.body,
    });
    return { status: res.status, body: await res.text(), headers: res.headers };
  };
  const json = (body: unknown, headers?: Record<string, string>): Promise<SlackResponse> =>
    sendRaw({ body: JSON.stringify(body), contentType: 'application/json', headers });
  const form = (fields: Record<string, string>): Promise<SlackResponse> =>
    sendRaw({ body: new URLSearchParams(fields).toString(), contentType: 'application/x-www-form-urlencoded' });

  return {
    sendRaw,
    event(event, opts = {}) {
      const headers = opts.retryNum === undefined ? undefined : { 'x-slack-retry-num': String(opts.retryNum), 'x-slack-retry-reason': opts.retryReason ?? 'http_timeout' };
      return json(payloads.eventCallback(ctx, event, opts), headers);
    },
    command: (c) => form(payloads.slashCommand(ctx, c)),
    interactive: (payload) => form({ payload: JSON.stringify(payload) }),
    urlVerification: (challenge) => json({ token: 'verification-token', challenge, type: 'url_verification' }),
    globalShortcut: (s) => payloads.globalShortcut(ctx, s),
    messageShortcut: (s) => payloads.messageShortcut(ctx, s),
    viewSubmission: (s) => payloads.viewSubmission(ctx, s),
    blockAction: (s) => payloads.blockAction(ctx, s),
    viewBlockAction: (s) => payloads.viewBlockAction(ctx, s),
    appMention: (s) => payloads.appMention(ctx, s),
    message: (s) => payloads.messageEvent(ctx, s),
    appHomeOpened: (s = {}) => payloads.appHomeOpened(ctx, s),
  };
}

export type { SlackFileObject };
