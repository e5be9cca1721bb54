// Realistic Slack interactivity payloads and event objects (shapes as Slack sends them to a Bolt app).
import { randomBytes } from 'node:crypto';
import type { SlackFileObject } from './types.js';

export interface PayloadContext {
  teamId: string;
  teamDomain: string;
  apiAppId: string;
  botUserId: string;
  /** When set, response URLs point at `${base}/hooks/response/…` (the stand-in serves them). */
  responseUrlBase?: string;
  now: () => number;
}

const USER_NAMES: Record<string, string> = { U0ALICE: 'alice', U0BOB: 'bob', U0ADMIN: 'admin' };
const CHANNEL_NAMES: Record<string, string> = { C0GENERAL: 'general', C0RANDOM: 'random' };

export const userName = (id: string): string => USER_NAMES[id] ?? id.toLowerCase();
export const channelName = (id: string): string => (id.startsWith('D') ? 'directmessage' : (CHANNEL_NAMES[id] ?? id.toLowerCase()));

let seq = 0;
const hex = (n: number): string => randomBytes(n).toString('hex');

/** A fresh trigger_id ("1234567890123.1234567890.abcdef…"). */
export function newTriggerId(ctx: PayloadContext): string {
  seq += 1;
  return `${ctx.now()}${String(seq).padStart(3, '0')}.${1_000_000_000 + seq}.${hex(16)}`;
}

export function nowTs(ctx: PayloadContext): string {
  seq += 1;
  return `${Math.floor(ctx.now() / 1000)}.${String(seq % 1_000_000).padStart(6, '0')}`;
}

export function responseUrl(ctx: PayloadContext, kind: 'actions' | 'commands', channel: string, user: string, messageTs?: string): string {
  seq += 1;
  if (ctx.responseUrlBase !== undefined) return `${ctx.responseUrlBase}/hooks/response/${channel}/${user}/${messageTs ?? '-'}/${seq}${hex(4)}`;
  return `https://hooks.slack.com/${kind}/${ctx.teamId}/${1_000_000_000 + seq}/${hex(12)}`;
}

const team = (ctx: PayloadContext): Record<string, unknown> => ({ id: ctx.teamId, domain: ctx.teamDomain });
const user = (ctx: PayloadContext, id: string): Record<string, unknown> => ({ id, username: userName(id), name: userName(id), team_id: ctx.teamId });
const common = (ctx: PayloadContext): Record<string, unknown> => ({ token: 'verification-token', enterprise: null, is_enterprise_install: false, api_app_id: ctx.apiAppId });

export function globalShortcut(ctx: PayloadContext, p: { callbackId: string; userId?: string }): Record<string, unknown> {
  return { type: 'shortcut', ...common(ctx), action_ts: nowTs(ctx), team: team(ctx), user: user(ctx, p.userId ?? 'U0ALICE'), callback_id: p.callbackId, trigger_id: newTriggerId(ctx) };
}

export interface ShortcutMessage {
  ts: string;
  text?: string;
  user?: string;
  files?: SlackFileObject[];
  thread_ts?: string;
}

export function messageShortcut(ctx: PayloadContext, p: { callbackId: string; userId?: string; channelId?: string; message: ShortcutMessage }): Record<string, unknown> {
  const channel = p.channelId ?? 'C0GENERAL';
  const actor = p.userId ?? 'U0ALICE';
  const message: Record<string, unknown> = { type: 'message', user: p.message.user ?? actor, ts: p.message.ts, text: p.message.text ?? '', team: ctx.teamId };
  if (p.message.files !== undefined) {
    message.files = p.message.files;
    message.upload = true;
  }
  if (p.message.thread_ts !== undefined) message.thread_ts = p.message.thread_ts;
  return {
    type: 'message_action',
    ...common(ctx),
    action_ts: nowTs(ctx),
    team: team(ctx),
    user: user(ctx, actor),
    channel: { id: channel, name: channelName(channel) },
    callback_id: p.callbackId,
    trigger_id: newTriggerId(ctx),
    message_ts: p.message.ts,
    message,
    response_url: responseUrl(ctx, 'actions', channel, actor, p.message.ts),
  };
}

export interface ViewSubmissionInput {
  callbackId: string;
  privateMetadata?: string;
  /** block_id → action_id → state value object. */
  values: Record<string, Record<string, unknown>>;
  userId?: string;
  /** Id of the view being submitted (e.g. from standin.views[i].viewId). */
  viewId?: string;
  /** Extra / overriding fields of the submitted view (e.g. its blocks). */
  view?: Record<string, unknown>;
}

export function viewSubmission(ctx: PayloadContext, p: ViewSubmissionInput): Record<string, unknown> {
  const id = p.viewId ?? `V0${hex(4).toUpperCase()}`;
  const view = {
    id,
    team_id: ctx.teamId,
    type: 'modal',
    blocks: [],
    private_metadata: p.privateMetadata ?? '',
    callback_id: p.callbackId,
    state: { values: p.values },
    hash: `${Math.floor(ctx.now() / 1000)}.${hex(4)}`,
    title: { type: 'plain_text', text: 'Seedance', emoji: true },
    clear_on_close: false,
    notify_on_close: false,
    close: { type: 'plain_text', text: 'Cancel', emoji: true },
    submit: { type: 'plain_text', text: 'Submit', emoji: true },
    previous_view_id: null,
    root_view_id: id,
    app_id: ctx.apiAppId,
    external_id: '',
    app_installed_team_id: ctx.teamId,
    bot_id: 'B0BOT0001',
    ...p.view,
  };
  return { type: 'view_submission', ...common(ctx), team: team(ctx), user: user(ctx, p.userId ?? 'U0ALICE'), trigger_id: newTriggerId(ctx), view, response_urls: [] };
}

export interface BlockActionInput {
  actionId: string;
  value?: string;
  userId?: string;
  channelId?: string;
  messageTs?: string;
  threadTs?: string;
  blockId?: string;
}

export function blockAction(ctx: PayloadContext, p: BlockActionInput): Record<string, unknown> {
  const channel = p.channelId ?? 'C0GENERAL';
  const actor = p.userId ?? 'U0ALICE';
  const messageTs = p.messageTs ?? nowTs(ctx);
  const container: Record<string, unknown> = { type: 'message', message_ts: messageTs, channel_id: channel, is_ephemeral: false };
  const message: Record<string, unknown> = { type: 'message', user: ctx.botUserId, bot_id: 'B0BOT0001', ts: messageTs, text: '', team: ctx.teamId };
  if (p.threadTs !== undefined) {
    container.thread_ts = p.threadTs;
    message.thread_ts = p.threadTs;
  }
  const action: Record<string, unknown> = { action_id: p.actionId, block_id: p.blockId ?? 'actions', type: 'button', text: { type: 'plain_text', text: p.actionId, emoji: true }, action_ts: nowTs(ctx) };
  if (p.value !== undefined) action.value = p.value;
  return {
    type: 'block_actions',
    ...common(ctx),
    user: user(ctx, actor),
    container,
    trigger_id: newTriggerId(ctx),
    team: team(ctx),
    channel: { id: channel, name: channelName(channel) },
    message,
    state: { values: {} },
    response_url: responseUrl(ctx, 'actions', channel, actor, messageTs),
    actions: [action],
  };
}

export interface ViewBlockActionInput {
  actionId: string;
  value?: string;
  userId?: string;
  /** The view the button is on (e.g. standin.homeView(user).viewId); a made-up id by default. */
  viewId?: string;
  /** 'home' (default) for the App Home tab, 'modal' for a button inside a modal. */
  viewType?: 'home' | 'modal';
  /** The view's blocks, as Slack echoes them. */
  blocks?: unknown[];
  blockId?: string;
}

/**
 * A button pressed on a view (the App Home tab, or a modal): the container is the view, and there is no channel,
 * message nor response_url, as Slack sends it.
 */
export function viewBlockAction(ctx: PayloadContext, p: ViewBlockActionInput): Record<string, unknown> {
  const actor = p.userId ?? 'U0ALICE';
  const viewId = p.viewId ?? `V0${hex(4).toUpperCase()}`;
  const viewType = p.viewType ?? 'home';
  const action: Record<string, unknown> = { action_id: p.actionId, block_id: p.blockId ?? 'actions', type: 'button', text: { type: 'plain_text', text: p.actionId, emoji: true }, action_ts: nowTs(ctx) };
  if (p.value !== undefined) action.value = p.value;
  const view = {
    id: viewId,
    team_id: ctx.teamId,
    type: viewType,
    blocks: p.blocks ?? [],
    private_metadata: '',
    callback_id: '',
    state: { values: {} },
    hash: `${Math.floor(ctx.now() / 1000)}.${hex(4)}`,
    title: viewType === 'modal' ? { type: 'plain_text', text: 'Seedance', emoji: true } : null,
    clear_on_close: false,
    notify_on_close: false,
    close: null,
    submit: null,
    previous_view_id: null,
    root_view_id: viewId,
    app_id: ctx.apiAppId,
    external_id: '',
    app_installed_team_id: ctx.teamId,
    bot_id: 'B0BOT0001',
  };
  return {
    type: 'block_actions',
    ...common(ctx),
    user: user(ctx, actor),
    container: { type: 'view', view_id: viewId },
    trigger_id: newTriggerId(ctx),
    team: team(ctx),
    view,
    actions: [action],
  };
}

export interface AppHomeOpenedInput {
  userId?: string;
  /** The user's DM channel with the app (standin.dmChannel(user)); default `D` + the user id without its `U`. */
  channelId?: string;
  /** 'home' (default) or 'messages' (the Messages tab). */
  tab?: 'home' | 'messages';
  /** The Home view published before, echoed back as Slack does once there is one. */
  view?: Record<string, unknown>;
}

/** The app_home_opened event (someone opened the app's Home or Messages tab). */
export function appHomeOpened(ctx: PayloadContext, p: AppHomeOpenedInput): Record<string, unknown> {
  const actor = p.userId ?? 'U0ALICE';
  const e: Record<string, unknown> = { type: 'app_home_opened', user: actor, channel: p.channelId ?? `D${actor.replace(/^[UW]/, '')}`, tab: p.tab ?? 'home', event_ts: nowTs(ctx) };
  if (p.view !== undefined) e.view = p.view;
  return e;
}

export interface MessageEventInput {
  text: string;
  userId?: string;
  channelId?: string;
  ts?: string;
  threadTs?: string;
  files?: SlackFileObject[];
}

function messageLike(ctx: PayloadContext, type: string, p: MessageEventInput): Record<string, unknown> {
  const ts = p.ts ?? nowTs(ctx);
  const channel = p.channelId ?? 'C0GENERAL';
  const e: Record<string, unknown> = { type, client_msg_id: `${hex(4)}-${hex(2)}-${hex(2)}-${hex(2)}-${hex(6)}`, text: p.text, user: p.userId ?? 'U0ALICE', ts, team: ctx.teamId, channel, event_ts: ts };
  if (p.threadTs !== undefined) e.thread_ts = p.threadTs;
  if (p.files !== undefined) {
    e.files = p.files;
    e.upload = false;
    e.display_as_bot = false;
  }
  return e;
}

export function appMention(ctx: PayloadContext, p: MessageEventInput): Record<string, unknown> {
  return messageLike(ctx, 'app_mention', p);
}

/** A `message` event; a message with files gets subtype 'file_share' as Slack sends it (subtype: '' for none). */
export function messageEvent(ctx: PayloadContext, p: MessageEventInput & { subtype?: string }): Record<string, unknown> {
  const e = messageLike(ctx, 'message', p);
  const channel = e.channel as string;
  e.channel_type = channel.startsWith('D') ? 'im' : channel.startsWith('G') ? 'group' : 'channel';
  const subtype = p.subtype ?? (p.files !== undefined && p.files.length > 0 ? 'file_share' : undefined);
  if (subtype !== undefined && subtype !== '') e.subtype = subtype;
  return e;
}

export interface EventCallbackOptions {
  teamId?: string;
  eventId?: string;
}

/** The `event_callback` envelope Slack wraps an event in (the HTTP body, or a Socket Mode events_api payload). */
export function eventCallback(ctx: PayloadContext, event: Record<string, unknown>, opts: EventCallbackOptions = {}): Record<string, unknown> {
  const teamId = opts.teamId ?? ctx.teamId;
  return {
    token: 'verification-token',
    team_id: teamId,
    context_team_id: teamId,
    context_enterprise_id: null,
    api_app_id: ctx.apiAppId,
    event,
    type: 'event_callback',
    event_id: opts.eventId ?? `Ev${randomBytes(5).toString('hex').toUpperCase()}`,
    event_time: Math.floor(ctx.now() / 1000),
    authorizations: [{ enterprise_id: null, team_id: teamId, user_id: ctx.botUserId, is_bot: true, is_enterprise_install: false }],
    is_ext_shared_channel: false,
    event_context: `4-${randomBytes(12).toString('base64url')}`,
  };
}

export interface SlashCommandInput {
  command: string;
  text: string;
  userId?: string;
  channelId?: string;
  triggerId?: string;
  responseUrl?: string;
}

/** A slash command's fields, all strings (form-encoded over HTTP, a JSON object in a Socket Mode slash_commands payload). */
export function slashCommand(ctx: PayloadContext, c: SlashCommandInput): Record<string, string> {
  const channel = c.channelId ?? 'C0GENERAL';
  const actor = c.userId ?? 'U0ALICE';
  return {
    token: 'verification-token',
    team_id: ctx.teamId,
    team_domain: ctx.teamDomain,
    channel_id: channel,
    channel_name: channelName(channel),
    user_id: actor,
    user_name: userName(actor),
    command: c.command,
    text: c.text,
    api_app_id: ctx.apiAppId,
    is_enterprise_install: 'false',
    response_url: c.responseUrl ?? responseUrl(ctx, 'commands', channel, actor),
    trigger_id: c.triggerId ?? newTriggerId(ctx),
  };
}
