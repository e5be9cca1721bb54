// auth.test, views.*, conversations.* and users.* Web API methods.
import { SlackApiError, invalidArguments, isObj, requireStr, str } from './api-error.js';
import type { Args } from './api-error.js';
import type { Handler } from './api-chat.js';
import { validateBlocks } from './api-chat.js';
import type { ChannelState, SlackWorld } from './state.js';
import type { PublishedHomeView } from './types.js';

function plainTextLength(v: unknown): number | undefined {
  return isObj(v) && typeof v.text === 'string' ? v.text.length : undefined;
}

/** The largest view Slack takes (views.publish / views.update: view_too_large). */
const MAX_VIEW_BYTES = 250 * 1024;

/**
 * The checks Slack applies before showing a view (title ≤ 24, blocks ≤ 100, submit with inputs…). `types` are the
 * view types the method takes: views.open / views.push show modals, views.publish the Home tab, views.update either.
 */
function validateView(raw: unknown, types: readonly ('modal' | 'home')[] = ['modal', 'home']): Record<string, unknown> {
  if (!isObj(raw)) throw invalidArguments('missing required field: view');
  const problems: string[] = [];
  if (!types.includes(raw.type as 'modal' | 'home')) problems.push(`must be ${types.length === 1 ? types[0] : `one of: ${types.join(', ')}`} [json-pointer:/view/type]`);
  if (raw.type === 'modal') {
    const title = plainTextLength(raw.title);
    if (title === undefined) problems.push('missing required field: title [json-pointer:/view/title]');
    else if (title > 24) problems.push('must be less than 25 characters [json-pointer:/view/title/text]');
    for (const k of ['submit', 'close'] as const) {
      const n = plainTextLength(raw[k]);
      if (n !== undefined && n > 24) problems.push(`must be less than 25 characters [json-pointer:/view/${k}/text]`);
    }
    const hasInput = Array.isArray(raw.blocks) && raw.blocks.some((b) => isObj(b) && b.type === 'input');
    if (hasInput && raw.submit === undefined) problems.push('submit is required when an input block is present [json-pointer:/view/submit]');
  }
  if (!Array.isArray(raw.blocks)) problems.push('missing required field: blocks [json-pointer:/view/blocks]');
  if (typeof raw.private_metadata === 'string' && raw.private_metadata.length > 3000) problems.push('must be less than 3001 characters [json-pointer:/view/private_metadata]');
  if (typeof raw.callback_id === 'string' && raw.callback_id.length > 255) problems.push('must be less than 256 characters [json-pointer:/view/callback_id]');
  if (problems.length > 0) throw invalidArguments(...problems);
  validateBlocks(raw.blocks, 100);
  return raw;
}

function viewObject(world: SlackWorld, id: string, view: Record<string, unknown>, rootId: string, previous: string | null): Record<string, unknown> {
  return {
    id,
    team_id: world.teamId,
    type: view.type,
    title: view.title,
    submit: view.submit ?? null,
    close: view.close ?? null,
    blocks: view.blocks,
    private_metadata: view.private_metadata ?? '',
    callback_id: view.callback_id ?? '',
    external_id: view.external_id ?? '',
    state: { values: {} },
    // Unique per version (a counter), so a stale hash is told apart even within one millisecond.
    hash: world.nextTs(),
    clear_on_close: view.clear_on_close === true,
    notify_on_close: view.notify_on_close === true,
    root_view_id: rootId,
    previous_view_id: previous,
    app_id: world.appId,
    app_installed_team_id: world.teamId,
    bot_id: world.botId,
  };
}

function openView(args: Args, world: SlackWorld): Record<string, unknown> {
  const triggerId = requireStr(args, 'trigger_id');
  const view = validateView(args.view, ['modal']);
  if (world.usedTriggers.has(triggerId)) throw new SlackApiError('expired_trigger_id');
  world.usedTriggers.add(triggerId);
  const id = world.newId('V');
  const obj = viewObject(world, id, view, id, null);
  world.viewsById.set(id, obj);
  world.views.push({ triggerId, view, viewId: id, at: Date.now() });
  return { view: obj };
}

function channelObject(world: SlackWorld, c: ChannelState): Record<string, unknown> {
  const o: Record<string, unknown> = {
    id: c.id,
    created: c.created,
    is_archived: c.archived,
    is_im: c.isIm,
    is_org_shared: false,
    context_team_id: world.teamId,
  };
  if (c.isIm) return { ...o, user: c.user, is_user_deleted: false };
  return { ...o, name: c.name, is_channel: true, is_group: false, is_mpim: false, is_private: false, is_general: c.name === 'general', is_member: c.isMember, is_shared: false, name_normalized: c.name };
}

export const miscMethods: Record<string, Handler> = {
  'auth.test': (_args, world) => ({
    url: 'https://standin.slack.com/',
    team: 'Stand-in Workspace',
    user: 'seedance',
    team_id: world.teamId,
    user_id: world.botUserId,
    bot_id: world.botId,
    is_enterprise_install: false,
  }),

  'views.open': openView,
  'views.push': openView,

  // The Home tab of one user (app_home_opened → views.publish): type 'home', ≤ 100 blocks; one view id per user.
  'views.publish': (args, world) => {
    const userId = requireStr(args, 'user_id');
    const view = validateView(args.view, ['home']);
    if (!world.users.has(userId)) throw new SlackApiError('user_not_found');
    if (!world.homeTabEnabled) throw new SlackApiError('not_enabled');
    if (Buffer.byteLength(JSON.stringify(view)) > MAX_VIEW_BYTES) throw new SlackApiError('view_too_large');
    const known = world.homeViewIds.get(userId);
    const current = known === undefined ? undefined : world.viewsById.get(known);
    const hash = str(args, 'hash');
    if (hash !== undefined && hash !== '' && current !== undefined && hash !== current.hash) throw new SlackApiError('hash_conflict');
    const id = known ?? world.newId('V');
    const obj = viewObject(world, id, view, id, null);
    world.viewsById.set(id, obj);
    world.homeViewIds.set(userId, id);
    world.homeViews.push({ userId, view: view as PublishedHomeView['view'], viewId: id, hash: obj.hash as string, at: Date.now() });
    return { view: obj };
  },

  'views.update': (args, world) => {
    const id = str(args, 'view_id');
    const externalId = str(args, 'external_id');
    if (id === undefined && externalId === undefined) throw invalidArguments('missing required field: view_id');
    const existing = id !== undefined ? world.viewsById.get(id) : [...world.viewsById.values()].find((v) => v.external_id === externalId);
    if (existing === undefined) throw new SlackApiError('not_found');
    const hash = str(args, 'hash');
    if (hash !== undefined && hash !== existing.hash) throw new SlackApiError('hash_conflict');
    const view = validateView(args.view);
    const vid = existing.id as string;
    const obj = viewObject(world, vid, view, existing.root_view_id as string, existing.previous_view_id as string | null);
    world.viewsById.set(vid, obj);
    return { view: obj };
  },

  'conversations.info': (args, world) => ({ channel: channelObject(world, world.channel(str(args, 'channel'))) }),

  // The parent and its thread replies (visible messages only), oldest first, with their files.
  'conversations.replies': (args, world) => {
    const channel = world.channel(str(args, 'channel')).id;
    const ts = str(args, 'ts');
    if (ts === undefined) throw invalidArguments('missing required field: ts');
    const thread = world.messages.filter((m) => m.channel === channel && !m.ephemeralTo && !m.deleted && (m.ts === ts || m.threadTs === ts));
    if (!thread.some((m) => m.ts === ts)) throw new SlackApiError('thread_not_found');
    return {
      messages: thread.map((m) => ({
        type: 'message',
        ts: m.ts,
        ...(m.threadTs ? { thread_ts: m.threadTs } : {}),
        ...(m.user ? { user: m.user } : {}),
        ...(m.botId ? { bot_id: m.botId } : {}),
        text: m.text,
        ...(m.files.length ? { files: m.files.map((f) => ({ id: f.id, name: f.name, title: f.title ?? f.name, size: f.size, mimetype: f.mimetype })) } : {}),
      })),
      has_more: false,
    };
  },

  'conversations.open': (args, world) => {
    const channelId = str(args, 'channel');
    if (channelId !== undefined) return { channel: { id: world.channel(channelId).id } };
    const users = (str(args, 'users') ?? '').split(',').filter((u) => u !== '');
    if (users.length === 0) throw new SlackApiError('users_list_not_supplied');
    if (users.length > 1) throw new SlackApiError('not_supported', { detail: 'multi-person DMs are not modelled by the stand-in' });
    const c = world.imWith(users[0] as string);
    return { no_op: true, already_open: true, channel: args.return_im === true || args.return_im === 'true' ? channelObject(world, c) : { id: c.id } };
  },

  'users.info': (args, world) => {
    const u = world.users.get(str(args, 'user') ?? '');
    if (u === undefined) throw new SlackApiError('user_not_found');
    return {
      user: {
        id: u.id,
        team_id: world.teamId,
        name: u.name,
        deleted: false,
        real_name: u.name,
        tz: 'Etc/UTC',
        is_admin: u.isAdmin,
        is_owner: u.isAdmin,
        is_primary_owner: false,
        is_restricted: false,
        is_ultra_restricted: false,
        is_bot: u.isBot,
        is_app_user: false,
        profile: { real_name: u.name, display_name: u.name, team: world.teamId, ...(u.isBot ? { bot_id: world.botId } : {}) },
      },
    };
  },
};
