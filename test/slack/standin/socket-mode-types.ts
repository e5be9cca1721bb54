// The public shapes of the stand-in's Socket Mode (see socket-mode.ts): envelopes sent, acks received, send options.
import type {
  AppHomeOpenedInput,
  BlockActionInput,
  EventCallbackOptions,
  MessageEventInput,
  ShortcutMessage,
  SlashCommandInput,
  ViewBlockActionInput,
  ViewSubmissionInput,
} from './slack-payloads.js';

export type EnvelopeType = 'events_api' | 'slash_commands' | 'interactive';

/** Slack's schedule for events_api envelopes left unacked: at once, after a minute, after five minutes. */
export const SLACK_RETRY_DELAYS_MS: readonly number[] = [0, 60_000, 300_000];

export interface SocketEnvelope {
  envelopeId: string;
  type: EnvelopeType;
  payload: Record<string, unknown>;
  acceptsResponsePayload: boolean;
  retryAttempt: number;
  retryReason: string;
  /** Which connection (1-based, in opening order) it went to. */
  connection: number;
  sentAt: number;
}

export interface SocketAck {
  envelopeId: string;
  /** The envelope's type; undefined when the id matched no envelope sent. */
  type?: EnvelopeType;
  /** The ack's `payload` ({} for a bare ack(); {response_action, errors} etc. for a view submission). */
  payload: unknown;
  /** The whole message as the client sent it. */
  raw: unknown;
  at: number;
  /** Milliseconds between sending the envelope and this ack. */
  latencyMs?: number;
  /** The connection the ack came in on. */
  connection: number;
  /**
   * Why this ack did not count: 'lost' (the send's loseAcks: as if it never reached Slack), 'late' (after the ack
   * timeout of its delivery). Slack has retried (or given up on) such a delivery already.
   */
  ignored?: 'lost' | 'late';
}

export interface SocketSendOptions {
  /** Default: true for slash_commands and view_submission / block_suggestion payloads, else false (as Slack sends). */
  acceptsResponsePayload?: boolean;
  /** Of the first delivery; default 0 / ''. Retries count on from retryAttempt, with retry_reason 'timeout'. */
  retryAttempt?: number;
  retryReason?: string;
  /** Of the first delivery; every retry has an envelope_id of its own. */
  envelopeId?: string;
  /** Per delivery. Default: the stand-in's socketAckTimeoutMs (3000). */
  ackTimeoutMs?: number;
  /**
   * The connection (its number, see SocketEnvelope.connection) for the first delivery, or for each delivery in turn
   * (the first, then its retries). Default, and for deliveries past the list: the open connections in turn. A named
   * connection that is not open fails the send.
   */
  connection?: number | readonly number[];
  /**
   * events_api only: the delay before each retry of a delivery that got no (counted) ack in time; a delivery that
   * finds no connection open counts as unacked. Default: the stand-in's socketRetryDelaysMs (none unless set).
   */
  retryDelaysMs?: readonly number[];
  /** The acks of the first N deliveries are lost on the way (recorded with ignored: 'lost'): Slack retries them. */
  loseAcks?: number;
}

export interface SocketSendResult {
  /** Of the delivery that was acked. */
  envelopeId: string;
  /** The ack's payload. */
  ack: unknown;
  latencyMs: number;
  /** The connection that acked, and that delivery's retry_attempt. */
  connection: number;
  retryAttempt: number;
  /** Every delivery of this envelope, the acked one last. */
  deliveries: SocketEnvelope[];
}

export interface SocketModeStandin {
  /** The token apps.connections.open accepts. */
  readonly appToken: string;
  /** At least one connection is open (and was sent `hello`). */
  readonly connected: boolean;
  /** Connections open now. */
  readonly connections: number;
  /** The numbers of the connections open now (see SocketEnvelope.connection), in opening order. */
  readonly openConnections: number[];
  /** Connections ever opened. */
  readonly connectionsOpened: number;
  /** Ping frames received from clients (each answered with a pong). */
  readonly pingsReceived: number;
  /** Pong frames received in answer to the server's pings. */
  readonly pongsReceived: number;
  /** Every envelope sent, in order. */
  envelopes: SocketEnvelope[];
  /** Every ack received, in order (duplicates included). */
  acks: SocketAck[];
  /** Client messages that were not acks (unparseable, no envelope_id). */
  unexpected: unknown[];
  /**
   * Delivers an envelope on one open connection (in turn, or as `opts.connection` says); resolves when a delivery
   * is acked, rejects when there is no connection or no ack within the timeout (after any retries).
   */
  send(type: EnvelopeType, payload: Record<string, unknown>, opts?: SocketSendOptions): Promise<SocketSendResult>;
  /** An events_api envelope: `event` wrapped in an event_callback body. */
  event(event: Record<string, unknown>, opts?: EventCallbackOptions & SocketSendOptions): Promise<SocketSendResult>;
  /** A slash_commands envelope; response_url points at the stand-in's /hooks/response/…. */
  command(p: SlashCommandInput, opts?: SocketSendOptions): Promise<SocketSendResult>;
  /** An interactive envelope (shortcut, view_submission, block_actions…). */
  interactive(payload: Record<string, unknown>, opts?: SocketSendOptions): Promise<SocketSendResult>;
  globalShortcut(p: { callbackId: string; userId?: string }): Record<string, unknown>;
  messageShortcut(p: { callbackId: string; userId?: string; channelId?: string; message: ShortcutMessage }): Record<string, unknown>;
  viewSubmission(p: ViewSubmissionInput): Record<string, unknown>;
  blockAction(p: BlockActionInput): Record<string, unknown>;
  viewBlockAction(p: ViewBlockActionInput): Record<string, unknown>;
  appMention(p: MessageEventInput): Record<string, unknown>;
  message(p: MessageEventInput & { subtype?: string }): Record<string, unknown>;
  appHomeOpened(p?: AppHomeOpenedInput): Record<string, unknown>;
  /** Resolves once a connection is open (default timeout 5000 ms). */
  waitForConnection(timeoutMs?: number): Promise<void>;
  /** Resolves once `count` connections are open at the same time (default timeout 5000 ms). */
  waitForConnections(count: number, timeoutMs?: number): Promise<void>;
  /** Sends `{type:'disconnect', reason}` on every open connection, as Slack does before rotating one; the client closes and reconnects. */
  disconnect(reason?: 'refresh_requested' | 'warning' | 'link_disabled'): void;
  /** Drops every connection without a close frame (a lost network). */
  dropConnections(): void;
}

