// Public shapes of the Slack Web API stand-in: options, recorded state and Slack's file object.

export interface SlackStandinOptions {
  /** Port to listen on (127.0.0.1); 0 / undefined picks a free one. */
  port?: number;
  /** Default 'xoxb-test-token'. */
  botToken?: string;
  /** App-level token for Socket Mode (apps.connections.open); default 'xapp-test-token'. */
  appToken?: string;
  /** The app's id (api_app_id in payloads, app_id in the Socket Mode hello); default 'A0STANDIN'. */
  appId?: string;
  /** How often the Socket Mode server pings each connection (WebSocket ping frames); default 10000 ms. */
  socketPingIntervalMs?: number;
  /** How long socket.send waits for the client's ack (of each delivery); default 3000 ms (Slack's limit). */
  socketAckTimeoutMs?: number;
  /**
   * Delays before each retry of an events_api envelope left unacked (SLACK_RETRY_DELAYS_MS is Slack's schedule);
   * default none: a send fails at its first ack timeout.
   */
  socketRetryDelaysMs?: readonly number[];
  /** Default 'T0000TEST'. */
  teamId?: string;
  /** Default 'U0BOT0001'. */
  botUserId?: string;
  /** Default 'B0BOT0001'. */
  botId?: string;
  /** Default: C0GENERAL 'general' (member), C0RANDOM 'random' (member), D0ALICE (IM with U0ALICE). `user` names an IM's other party. */
  channels?: { id: string; name: string; isIm?: boolean; isMember?: boolean; user?: string }[];
  /** Default: U0ALICE alice, U0BOB bob, U0ADMIN admin (isAdmin). */
  users?: { id: string; name: string; isAdmin?: boolean }[];
  /** Granted bot scopes (sent back in `x-oauth-scopes`); see DEFAULT_SCOPES. */
  scopes?: string[];
  /** Whether the app's Home tab is enabled (views.publish answers not_enabled when it isn't); default true. */
  homeTabEnabled?: boolean;
}

/** Slack's file object, as returned by files.info / completeUploadExternal and carried in events. */
export interface SlackFileObject {
  id: string;
  created: number;
  timestamp: number;
  name: string;
  title: string;
  mimetype: string;
  filetype: string;
  pretty_type: string;
  user: string;
  user_team: string;
  editable: boolean;
  size: number;
  mode: string;
  is_external: boolean;
  external_type: string;
  is_public: boolean;
  public_url_shared: boolean;
  display_as_bot: boolean;
  username: string;
  url_private: string;
  url_private_download: string;
  permalink: string;
  permalink_public: string;
  original_w?: number;
  original_h?: number;
  thumb_360?: string;
  thumb_360_w?: number;
  thumb_360_h?: number;
}

export interface SlackMessageFile {
  id: string;
  name: string;
  title?: string;
  size: number;
  mimetype?: string;
  data?: Buffer;
}

export interface SlackMessage {
  ts: string;
  channel: string;
  threadTs?: string;
  /** Author; the bot user id for bot posts. */
  user?: string;
  /** Set on bot posts. */
  botId?: string;
  text: string;
  blocks?: unknown[];
  files: SlackMessageFile[];
  /** For chat.postEphemeral (and ephemeral response_url replies): the only user who sees it. */
  ephemeralTo?: string;
  deleted: boolean;
  /** Every version the message had, oldest first; the first entry is the original post. */
  history: { at: number; text: string; blocks?: unknown[] }[];
}

export interface RecordedCall {
  /** Web API method ('chat.postMessage'), or 'UPLOAD' (upload_url POST), 'FILE_GET' (files-pri GET), 'RESPONSE_URL', 'SOCKET_CONNECT' (WebSocket upgrade). */
  method: string;
  path: string;
  /** The Authorization header as sent. */
  auth?: string;
  /** Parsed JSON / form / multipart / query arguments (JSON-string fields such as blocks, files, view decoded). */
  args: Record<string, unknown>;
  /** HTTP status answered; 0 for a reset (connection dropped without a response). */
  status: number;
  response: unknown;
  at: number;
  /** The fault this call got (queued with addFault, or returned by the chaos function); absent when handled normally. */
  fault?: AppliedFault;
}

export interface StandinFile {
  id: string;
  name: string;
  title?: string;
  size: number;
  mimetype: string;
  data: Buffer;
  channels: string[];
  threadTs?: string;
  /** 'external' = uploaded by the bot via files.uploadV2; 'user' = made with addUserFile. */
  uploadedVia: 'external' | 'user';
  user: string;
  width?: number;
  height?: number;
  created: number;
}

export interface FaultSpec {
  /** Web API method ('chat.update'), or 'UPLOAD' / 'FILE_GET' / 'RESPONSE_URL'; omitted = any Web API method. */
  method?: string;
  /** How many matching calls fail (default 1). */
  times?: number;
  /** Answer HTTP 200 {ok:false, error}. */
  error?: string;
  /** HTTP status; 429 answers {ok:false,error:'ratelimited'} with Retry-After. */
  status?: number;
  /** Implies 429 when no status is given. Default 1. */
  retryAfterSeconds?: number;
  /** Wait this long before answering (alone: a slow but successful call; longer than the client's timeout: a hang). */
  delayMs?: number;
  /** After delayMs, destroy the connection without answering (a connection reset). Not combinable with error/status/retryAfterSeconds. */
  reset?: boolean;
}

/** Where a fault came from: the queue of one-shot faults (addFault) or the chaos function (setChaos). */
export type FaultSource = 'queued' | 'chaos';

/** A fault as applied to one call. */
export type AppliedFault = FaultSpec & { source: FaultSource };

/** What the chaos function is told about a request (Socket Mode upgrades and unknown paths never reach it). */
export interface ChaosRequest {
  /** As in RecordedCall.method: the Web API method ('chat.postMessage'), or 'UPLOAD', 'FILE_GET', 'RESPONSE_URL'. */
  method: string;
  /** 'POST', 'GET', … */
  httpMethod: string;
  /** URL path without the query string, e.g. '/api/chat.postMessage'. */
  path: string;
}

/**
 * Called for every request no queued fault matched. Returns undefined to handle it normally, or a fault for this one
 * request; its matching fields (method, times) are ignored.
 */
export type ChaosFn = (req: ChaosRequest) => FaultSpec | undefined;

export interface ViewRecord {
  triggerId: string;
  view: unknown;
  viewId: string;
  at: number;
}

/** A views.publish call that succeeded: the Home tab as published for one user. */
export interface PublishedHomeView {
  userId: string;
  /** The view as sent (type 'home', blocks, …). */
  view: { type: 'home'; blocks: unknown[] } & Record<string, unknown>;
  /** The user's Home view id: the same across publishes, as Slack keeps one Home view per user and app. */
  viewId: string;
  /** The hash the published view got (a later publish may pass it to guard against a race). */
  hash: string;
  at: number;
}
