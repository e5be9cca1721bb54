/**
 * The soak test's fault plan: chaos functions for the provider emulator and the
 * Discord and Slack stand-ins. Every decision comes from a PRNG seeded with
 * (seed, request identity, occurrence), so one seed always faults the n-th status
 * poll of a given generation, the n-th edit of a given message and so on in the
 * same way, whatever order the requests arrive in. Each function tallies what it
 * was offered and what it faulted, per fault class.
 */
import type { Fault as ProviderFault, ChaosFn as ProviderChaosFn } from '../emulator/provider-emulator.js';
import type { ChaosFn as DiscordChaosFn, FaultSpec as DiscordFault } from '../discord/standin/discord-standin.js';
import type { ChaosFn as SlackChaosFn, FaultSpec as SlackFault } from '../slack/standin/slack-standin.js';
import { rngFor } from './soak-world.js';

export type FaultClass = '429' | '5xx' | 'reset' | 'hang';
export const FAULT_CLASSES: readonly FaultClass[] = ['429', '5xx', 'reset', 'hang'];

export interface Tally {
  /** Requests the chaos function could have faulted. */
  offered: number;
  /** Of those, offered while the storm was on. */
  offeredInStorm: number;
  faulted: Record<FaultClass, number>;
  /** Successful requests deliberately slowed down (not failures). */
  slowed: number;
}

export const newTally = (): Tally => ({ offered: 0, offeredInStorm: 0, faulted: { '429': 0, '5xx': 0, reset: 0, hang: 0 }, slowed: 0 });
export const faultedCount = (t: Tally) => FAULT_CLASSES.reduce((n, c) => n + t.faulted[c], 0);

export interface ChaosPlan {
  seed: number;
  /** Share of eligible requests that fail while the storm is on. */
  rate: number;
  /** Faults are injected only while this returns true. */
  storm(): boolean;
  /** While true, the platforms refuse every upload (503): an outage longer than any one retry. */
  outage(): boolean;
  /** The bot's PLATFORM_TIMEOUT_MS: platform hangs last a little longer than this. */
  platformTimeoutMs: number;
}

/** Picks a fault class with the given weights (they need not sum to 1). */
function pick(r: number, weights: Record<FaultClass, number>): FaultClass {
  const total = FAULT_CLASSES.reduce((s, c) => s + weights[c], 0);
  let x = r * total;
  for (const c of FAULT_CLASSES) {
    x -= weights[c];
    if (x < 0) return c;
  }
  return 'hang';
}

function occurrences() {
  const seen = new Map<string, number>();
  return (key: string) => {
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    return `${key}#${n}`;
  };
}

/** The job tag in a prompt (see soak.test.ts): `J07A2Z` = job 7, attempt 2. */
export const tagOf = (prompt: unknown) => /\bJ\d{2}A\d+Z\b/.exec(String(prompt))?.[0] ?? String(prompt);

/** The bot's own provider timeouts (src/providers/aimlapi: status 20 s; src/http/video-fetcher: 60 s); not configurable. */
export const PROVIDER_POLL_TIMEOUT_MS = 20_000;
export const PROVIDER_DOWNLOAD_TIMEOUT_MS = 60_000;
/** At most this many refused creates per job attempt: the bot gives up after 4 submit attempts (MAX_SUBMIT_ATTEMPTS). */
export const MAX_CREATE_REFUSALS = 2;

/**
 * Provider: status polls and downloads fail at `rate` with 429 + Retry-After, 5xx, resets and hangs past the
 * bot's timeouts. Creates fail only with 429 + Retry-After (the provider certainly made no job), at most
 * MAX_CREATE_REFUSALS times per attempt; some others are answered slowly (a few hundred ms, far below the
 * 60 s submit timeout, and always handled) so that a kill can land while a create is in flight.
 */
export function providerChaos(plan: ChaosPlan, tally: { create: Tally; poll: Tally; download: Tally }): ProviderChaosFn {
  const next = occurrences();
  const refusals = new Map<string, number>();
  const weights: Record<'poll' | 'download', Record<FaultClass, number>> = {
    poll: { '429': 0.25, '5xx': 0.3, reset: 0.25, hang: 0.2 },
    // A download hang costs the job the full 60 s download timeout, so they are rarer.
    download: { '429': 0.25, '5xx': 0.35, reset: 0.3, hang: 0.1 },
  };
  return (req) => {
    if (req.kind === 'create') {
      const tag = tagOf((req.body as { prompt?: unknown } | undefined)?.prompt);
      const t = tally.create;
      t.offered++;
      if (!plan.storm()) return undefined;
      t.offeredInStorm++;
      const r = rngFor(plan.seed, next(`create:${tag}`));
      if ((refusals.get(tag) ?? 0) < MAX_CREATE_REFUSALS && r() < plan.rate) {
        refusals.set(tag, (refusals.get(tag) ?? 0) + 1);
        t.faulted['429']++;
        return { kind: 'status', status: 429, retryAfterSeconds: 1 };
      }
      if (r() < 0.3) {
        t.slowed++;
        return { kind: 'delay', ms: 200 + Math.floor(r() * 800) };
      }
      return undefined;
    }
    if (req.kind !== 'poll' && req.kind !== 'download') return undefined;
    const t = tally[req.kind];
    t.offered++;
    if (!plan.storm()) return undefined;
    t.offeredInStorm++;
    const identity = req.kind === 'poll' ? (new URLSearchParams(req.path.split('?')[1] ?? '').get('generation_id') ?? req.path) : req.pathname;
    const r = rngFor(plan.seed, next(`${req.kind}:${identity}`));
    if (r() >= plan.rate) return undefined;
    const cls = pick(r(), weights[req.kind]);
    t.faulted[cls]++;
    const fault: ProviderFault =
      cls === '429'
        ? { kind: 'status', status: 429, retryAfterSeconds: 1 }
        : cls === '5xx'
          ? { kind: 'status', status: [500, 502, 503][Math.floor(r() * 3)]! }
          : cls === 'reset'
            ? { kind: 'reset' }
            : // Answered (normally) only after the bot has given up waiting.
              { kind: 'delay', ms: (req.kind === 'poll' ? PROVIDER_POLL_TIMEOUT_MS : PROVIDER_DOWNLOAD_TIMEOUT_MS) + 1000 };
    return fault;
  };
}

/**
 * Discord (and during the outage: every POST to a channel, i.e. uploads, links and notes; progress edits go on).
 * Otherwise only the calls the bot makes for a job's messages are faulted: POST /channels/:id/messages (the
 * video upload, link and fallback posts) and PATCH /channels/:id/messages/:id (progress edits, the final
 * state). Not faulted: GET /gateway/bot, /users/@me, /applications/… (start-up: the bot has to come up to be
 * tested at all), and POST /interactions/:id/:token/callback. The callback is the first message of a /video
 * and must arrive within Discord's 3 s or the interaction itself fails; when it fails in a real Discord the
 * user sees "This interaction failed" and simply runs the command again, which this test does anyway when a
 * command goes unanswered (a kill). Faulting it would test discord.js's retry of a call Discord then rejects
 * as already acknowledged, not the bot's job handling.
 */
export function discordChaos(plan: ChaosPlan, tally: Tally): DiscordChaosFn {
  const next = occurrences();
  const weights: Record<FaultClass, number> = { '429': 0.25, '5xx': 0.25, reset: 0.25, hang: 0.25 };
  return (req) => {
    const eligible =
      (req.method === 'POST' && req.route === '/channels/:channelId/messages') || (req.method === 'PATCH' && req.route === '/channels/:channelId/messages/:messageId');
    if (!eligible) return undefined;
    tally.offered++;
    if (plan.outage() && req.method === 'POST') {
      tally.offeredInStorm++;
      tally.faulted['5xx']++;
      return { status: 503 };
    }
    if (!plan.storm()) return undefined;
    tally.offeredInStorm++;
    const r = rngFor(plan.seed, next(`discord:${req.method} ${req.path}`));
    if (r() >= plan.rate) return undefined;
    const cls = pick(r(), weights);
    tally.faulted[cls]++;
    const hang = plan.platformTimeoutMs + 300 + Math.floor(r() * 700);
    const fault: DiscordFault =
      cls === '429'
        ? { status: 429, body: { message: 'You are being rate limited.', retry_after: 0.5 + Math.floor(r() * 5) / 10, global: false } }
        : cls === '5xx'
          ? { status: [500, 502, 503][Math.floor(r() * 3)]! }
          : cls === 'reset'
            ? { reset: true }
            : // A hang past the bot's timeout: either handled late (Discord did it, the bot doesn't know) or never.
              r() < 0.5
              ? { delayMs: hang }
              : { delayMs: hang, reset: true };
    return fault;
  };
}

/** The Slack Web API methods (and the upload URL) the bot uses for a job's messages and its video. */
export const SLACK_FAULTED_METHODS = new Set(['chat.postMessage', 'chat.update', 'files.getUploadURLExternal', 'UPLOAD', 'files.completeUploadExternal', 'conversations.replies']);

/** The steps of files.uploadV2: what an upload outage refuses. */
export const SLACK_UPLOAD_METHODS = new Set(['files.getUploadURLExternal', 'UPLOAD', 'files.completeUploadExternal']);

/**
 * Slack: the first message (chat.postMessage), progress updates (chat.update), the three steps of
 * files.uploadV2, the buttons message and the thread lookup the bot does before uploading again. Not
 * faulted: auth.test (start-up), the acks of commands and events (answered by the bot's HTTP receiver, not
 * calls the bot makes), response_url replies and chat.postEphemeral (how refusals reach the user).
 */
export function slackChaos(plan: ChaosPlan, tally: Tally): SlackChaosFn {
  const next = occurrences();
  const weights: Record<FaultClass, number> = { '429': 0.25, '5xx': 0.25, reset: 0.25, hang: 0.25 };
  return (req) => {
    if (!SLACK_FAULTED_METHODS.has(req.method)) return undefined;
    tally.offered++;
    if (plan.outage() && SLACK_UPLOAD_METHODS.has(req.method)) {
      tally.offeredInStorm++;
      tally.faulted['5xx']++;
      return { status: 503 };
    }
    if (!plan.storm()) return undefined;
    tally.offeredInStorm++;
    const r = rngFor(plan.seed, next(`slack:${req.method}`));
    if (r() >= plan.rate) return undefined;
    const cls = pick(r(), weights);
    tally.faulted[cls]++;
    const hang = plan.platformTimeoutMs + 200 + Math.floor(r() * 700);
    const fault: SlackFault =
      cls === '429'
        ? { status: 429, retryAfterSeconds: 1 }
        : cls === '5xx'
          ? { status: [500, 503][Math.floor(r() * 2)]! }
          : cls === 'reset'
            ? { reset: true }
            : r() < 0.5
              ? { delayMs: hang }
              : { delayMs: hang, reset: true };
    return fault;
  };
}
