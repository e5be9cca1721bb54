// A local stand-in for Discord's REST API v10 and Gateway that an unmodified discord.js v14 client runs against.
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { FaultStore } from './faults.js';
import { Gateway, shardOf } from './gateway.js';
import type { Shard } from './gateway.js';
import { redeliverInteraction } from './interaction-base.js';
import { clickButton, messageCommand, slashCommand, submitModal } from './interactions.js';
import type { World } from './message-ops.js';
import { interactionRoutes } from './rest-interactions.js';
import { messageRoutes } from './rest-messages.js';
import { miscRoutes } from './rest-misc.js';
import { createStandinServer } from './server.js';
import { IDS, StandinState } from './state.js';
import type {
  ChaosFn,
  FaultSpec,
  InteractionResponseRecord,
  MessageCommandInput,
  RecordedCall,
  SlashCommandInput,
  StandinChannel,
  StandinMessage,
  StandinOptions,
  UserMessageInput,
} from './types.js';
import { deleteChannel, deleteMessage, redeliverMessage, userMessage } from './user-events.js';

export type * from './types.js';
export type { Shard } from './gateway.js';
/** Ids of the seeded users, guild, channels, application and bot. */
export const STANDIN_IDS = IDS;
/** The shard a server's events go to: `(guild_id >> 22) % count` (no server, as for DMs: 0). */
export const shardOfGuild = shardOf;

/** The running stand-in: REST under `${url}/api/v10`, gateway at ws://…/gateway, plus test controls. */
export interface DiscordStandin {
  /** http://127.0.0.1:PORT — pass `${url}/api` as discord.js `rest.api`. */
  url: string;
  token: string;
  applicationId: string;
  botUserId: string;
  /** Every REST call, in completion order. */
  calls: RecordedCall[];
  messages: Map<string, StandinMessage>;
  channels: Map<string, StandinChannel>;
  commands: { global: unknown[]; guild: Map<string, unknown[]> };
  interactionResponses: Map<string, InteractionResponseRecord>;
  /** True while a bot's gateway socket is open (false between op 7 and its RESUME). */
  readonly gatewayConnected: boolean;
  /** Gateway ops the bot sent ({op, d, at}; tokens redacted). */
  gatewayReceived: { op: number; d: unknown; at: number }[];
  /** Each gateway session's `[shard_id, num_shards]` (from IDENTIFY; [0, 1] without) and whether its socket is open. */
  readonly gatewayShards: { shard: Shard; connected: boolean }[];
  /** Changes the `shards` GET /gateway/bot recommends (for the next logins). */
  setRecommendedShards(count: number): void;
  /** Resolves when a bot has IDENTIFYed and received READY + GUILD_CREATE. Default timeout 5000 ms. */
  waitForReady(timeoutMs?: number): Promise<void>;
  /** Dispatches a chat-input INTERACTION_CREATE. */
  slashCommand(p: SlashCommandInput): { id: string; token: string };
  /** Dispatches a message context-menu command on an existing (target.id) or new target message. */
  messageCommand(p: MessageCommandInput): { id: string; token: string; targetId: string };
  /** Clicks a (non-disabled) button that exists on the message. */
  clickButton(p: { messageId: string; customId: string; userId?: string; permissions?: string }): { id: string; token: string };
  /** Submits a modal the bot showed (type-9 response with that custom_id); mirrors its layout (a select's field is its values). */
  submitModal(p: { customId: string; fields: Record<string, string | string[]>; userId?: string; channelId?: string; guildId?: string | null; permissions?: string }): { id: string; token: string };
  /**
   * Dispatches MESSAGE_CREATE for a user's message and stores it: a reply with `referenceId` (pinging its author unless
   * `replyPing: false`), or a forward of it with `forward: true`.
   */
  userMessage(p: UserMessageInput): StandinMessage;
  /** Dispatches MESSAGE_CREATE for a stored message again (same id), as an overlapping session or a replay does. */
  redeliverMessage(id: string): void;
  /** Dispatches an interaction's INTERACTION_CREATE again (same id and token); a second callback gets 400 40060. */
  redeliverInteraction(id: string): void;
  /** Marks a message deleted (later calls → 404 10008) and dispatches MESSAGE_DELETE. */
  deleteMessage(id: string): void;
  /** Marks a channel deleted (later calls → 404 10003) and dispatches CHANNEL_DELETE/THREAD_DELETE. */
  deleteChannel(id: string): void;
  /**
   * The next `times` matching REST calls answer with status/body/headers, or drop the connection (reset: true),
   * after delayMs (delay only, then normal handling, without status and reset).
   */
  addFault(f: FaultSpec): void;
  /** Removes the queued faults (not the chaos function). */
  clearFaults(): void;
  /**
   * Sets (or with undefined removes) the chaos function, asked about every REST call no queued fault matched; the
   * fault it returns applies to that call only. An invalid fault (or a throw) answers that call 500.
   */
  setChaos(fn: ChaosFn | undefined): void;
  /**
   * Ends every fault delay under way now: each such call then goes on as its fault says (a delay-only fault: handled
   * normally, even if the client has gone meanwhile). Later delays are not affected.
   */
  endDelays(): void;
  /**
   * The next `times` valid IDENTIFYs get no READY (nor GUILD_CREATE): the socket stays open and heartbeats are acked,
   * but no session starts, as when the gateway never finishes the handshake. 0 stops withholding; Infinity withholds
   * until told otherwise.
   */
  withholdReady(times: number): void;
  /** Count of IDENTIFYs that got no READY because of withholdReady. */
  readonly readyWithheld: number;
  /** Count of IDENTIFYs answered with READY. */
  readonly readyCount: number;
  /**
   * Closes the gateway sockets of shard `shard`'s sessions (every session's when undefined) with `code`; 4004 and
   * 4010-4014 also end the session (discord.js then gives that shard up). Returns how many sockets were closed.
   */
  closeGateway(code: number, shard?: number): number;
  /** Sends op 7 RECONNECT; discord.js then RESUMEs and gets missed events replayed. */
  requestReconnect(): void;
  /** Polls fn every 20 ms until it returns something other than undefined/null/false. Default timeout 10000 ms. */
  waitFor<T>(fn: () => T | undefined | null | false, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

function describeCalls(calls: RecordedCall[]): string {
  const recent = calls.slice(-12).map((c) => `  ${c.method} ${c.path} -> ${c.status}`);
  return recent.length > 0 ? `recent REST calls:\n${recent.join('\n')}` : 'no REST calls were made';
}

async function waitFor<T>(state: StandinState, fn: () => T | undefined | null | false, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = fn();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await sleep(20);
  }
  const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  throw new Error(`Discord stand-in: condition not met within ${timeoutMs} ms${why}; ${describeCalls(state.calls)}`);
}

export async function startDiscordStandin(opts: StandinOptions = {}): Promise<DiscordStandin> {
  const state = new StandinState(opts);
  let baseUrl = '';
  const gateway = new Gateway(state, {
    heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 41_250,
    privilegedIntentsEnabled: opts.privilegedIntentsEnabled ?? true,
    maxGuildsPerShard: opts.maxGuildsPerShard ?? 2500,
    url: () => `${baseUrl.replace(/^http/, 'ws')}/gateway`,
  });
  const faults = new FaultStore();
  const world: World = { state, gateway };
  const routes = [...miscRoutes(() => baseUrl), ...messageRoutes(), ...interactionRoutes()];
  const closing = new AbortController();
  let hurry = new AbortController();
  const server = createStandinServer({ ...world, routes, faults, closing: closing.signal, hurry: () => hurry.signal });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let closed = false;

  return {
    url: baseUrl,
    token: state.token,
    applicationId: state.applicationId,
    botUserId: state.botUserId,
    calls: state.calls,
    messages: state.messages,
    channels: state.channels,
    commands: state.commands,
    interactionResponses: state.interactionResponses,
    gatewayReceived: gateway.received,
    get gatewayConnected() {
      return gateway.connected;
    },
    get gatewayShards() {
      return gateway.shards;
    },
    setRecommendedShards: (count) => {
      if (!Number.isInteger(count) || count < 1) throw new TypeError('setRecommendedShards: count must be a whole number >= 1');
      state.recommendedShards = count;
    },
    waitForReady: (timeoutMs = 5000) => gateway.waitForReady(timeoutMs),
    slashCommand: (p) => slashCommand(world, p),
    messageCommand: (p) => messageCommand(world, p),
    clickButton: (p) => clickButton(world, p),
    submitModal: (p) => submitModal(world, p),
    userMessage: (p) => userMessage(world, p),
    redeliverMessage: (id) => redeliverMessage(world, id),
    redeliverInteraction: (id) => redeliverInteraction(world, id),
    deleteMessage: (id) => deleteMessage(world, id),
    deleteChannel: (id) => deleteChannel(world, id),
    addFault: (f) => faults.add(f),
    clearFaults: () => faults.clear(),
    setChaos: (fn) => {
      faults.chaos = fn;
    },
    endDelays: () => {
      const ending = hurry;
      hurry = new AbortController();
      ending.abort();
    },
    withholdReady: (times) => gateway.withholdReady(times),
    get readyWithheld() {
      return gateway.readyWithheld;
    },
    get readyCount() {
      return gateway.readyCount;
    },
    requestReconnect: () => gateway.requestReconnect(),
    closeGateway: (code, shard) => gateway.closeSessions(code, shard),
    waitFor: (fn, timeoutMs = 10_000) => waitFor(state, fn, timeoutMs),
    async close() {
      if (closed) return;
      closed = true;
      closing.abort();
      await gateway.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
