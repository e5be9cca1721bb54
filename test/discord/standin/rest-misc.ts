// REST routes other than messages and interactions: gateway, users, application, commands, channels, threads, members.
import { fail, invalidForm } from './errors.js';
import { emitThreadCreate } from './gateway-events.js';
import type { World } from './message-ops.js';
import { apiChannel, apiMember, apiUser, guildCreatePayload, isThreadType } from './payloads.js';
import { json, noContent } from './router.js';
import type { RestContext, Route } from './router.js';
import type { ChannelRecord } from './state.js';
import { validateCommands } from './command-validation.js';

function gatewayUrl(base: string): string {
  return `${base.replace(/^http/, 'ws')}/gateway`;
}

function application(ctx: World): Record<string, unknown> {
  const { state } = ctx;
  return {
    id: state.applicationId,
    name: state.user(state.botUserId).username,
    icon: null,
    description: '',
    summary: '',
    type: null,
    bot_public: true,
    bot_require_code_grant: false,
    verify_key: '0'.repeat(64),
    flags: 0,
    team: null,
    owner: apiUser(state.user([...state.guilds.values()][0]?.ownerId ?? state.botUserId)),
    bot: apiUser(state.user(state.botUserId)),
    install_params: { scopes: ['bot', 'applications.commands'], permissions: '0' },
    integration_types_config: { '0': {} },
  };
}

/** PUT bulk overwrite: keeps the id of a command whose name+type already existed, like Discord. */
function overwriteCommands(ctx: RestContext, guildId: string | undefined): unknown[] {
  const { state } = ctx;
  if (guildId !== undefined && !state.guilds.has(guildId)) throw fail.unknownGuild();
  if (ctx.params.app !== state.applicationId) throw fail.unauthorized();
  if (!Array.isArray(ctx.json)) throw invalidForm([{ path: '', code: 'BASE_TYPE_BAD_TYPE', message: 'Must be an array.' }]);
  validateCommands(ctx.json);
  const previous = (guildId === undefined ? state.commands.global : (state.commands.guild.get(guildId) ?? [])) as Record<string, unknown>[];
  const result = (ctx.json as Record<string, unknown>[]).map((cmd) => {
    const type = typeof cmd.type === 'number' ? cmd.type : 1;
    const same = previous.find((p) => p.name === cmd.name && p.type === type);
    return {
      id: typeof same?.id === 'string' ? same.id : state.snowflake(),
      application_id: state.applicationId,
      version: state.snowflake(),
      default_member_permissions: null,
      type,
      name: cmd.name,
      name_localizations: null,
      description: type === 1 ? (cmd.description ?? '') : '',
      description_localizations: null,
      options: [],
      dm_permission: true,
      contexts: null,
      integration_types: [0],
      nsfw: false,
      ...cmd,
      ...(guildId !== undefined ? { guild_id: guildId } : {}),
    };
  });
  if (guildId === undefined) state.commands.global = result;
  else state.commands.guild.set(guildId, result);
  return result;
}

function listCommands(ctx: RestContext, guildId: string | undefined): unknown[] {
  if (guildId !== undefined && !ctx.state.guilds.has(guildId)) throw fail.unknownGuild();
  return guildId === undefined ? ctx.state.commands.global : (ctx.state.commands.guild.get(guildId) ?? []);
}

function createThread(ctx: RestContext, parent: ChannelRecord, fromMessage: string | undefined): ChannelRecord {
  const { state, body } = ctx;
  const name = typeof body.name === 'string' ? body.name : '';
  if (name.length < 1 || name.length > 100) {
    throw invalidForm([{ path: 'name', code: 'BASE_TYPE_BAD_LENGTH', message: 'Must be between 1 and 100 in length.' }]);
  }
  if (parent.guildId === undefined || isThreadType(parent.type)) throw fail.invalidChannelType();
  const type = fromMessage !== undefined ? 11 : (typeof body.type === 'number' ? body.type : 12);
  const thread: ChannelRecord = {
    id: fromMessage ?? state.snowflake(),
    type,
    guildId: parent.guildId,
    name,
    parentId: parent.id,
    ownerId: state.botUserId,
    deleted: false,
    createdAt: Date.now(),
  };
  state.channels.set(thread.id, thread);
  emitThreadCreate(ctx.gateway, state, thread);
  return thread;
}

export function miscRoutes(baseUrl: () => string): Route[] {
  return [
    { method: 'GET', pattern: '/gateway', auth: false, handler: () => json({ url: gatewayUrl(baseUrl()) }) },
    {
      method: 'GET', pattern: '/gateway/bot', auth: true,
      handler: (ctx) => json({
        url: gatewayUrl(baseUrl()),
        shards: ctx.state.recommendedShards,
        session_start_limit: { total: 1000, remaining: 999, reset_after: 86_400_000, max_concurrency: ctx.state.maxConcurrency },
      }),
    },
    { method: 'GET', pattern: '/users/@me', auth: true, handler: (ctx) => json({ ...apiUser(ctx.state.user(ctx.state.botUserId)), bot: true, verified: true, mfa_enabled: false }) },
    {
      method: 'GET', pattern: '/users/:userId', auth: true,
      handler: (ctx) => {
        const user = ctx.state.users.get(ctx.params.userId ?? '');
        if (!user) throw fail.unknownUser();
        return json(apiUser(user));
      },
    },
    { method: 'GET', pattern: '/applications/@me', auth: true, handler: (ctx) => json(application(ctx)) },
    { method: 'GET', pattern: '/applications/:app/commands', auth: true, handler: (ctx) => json(listCommands(ctx, undefined)) },
    { method: 'PUT', pattern: '/applications/:app/commands', auth: true, handler: (ctx) => json(overwriteCommands(ctx, undefined)) },
    { method: 'GET', pattern: '/applications/:app/guilds/:guildId/commands', auth: true, handler: (ctx) => json(listCommands(ctx, ctx.params.guildId)) },
    { method: 'PUT', pattern: '/applications/:app/guilds/:guildId/commands', auth: true, handler: (ctx) => json(overwriteCommands(ctx, ctx.params.guildId)) },
    {
      method: 'POST', pattern: '/users/@me/channels', auth: true,
      handler: (ctx) => {
        const recipient = ctx.body.recipient_id;
        if (typeof recipient !== 'string' || !ctx.state.users.has(recipient)) {
          throw invalidForm([{ path: 'recipient_id', code: 'NUMBER_TYPE_COERCE', message: `Value "${String(recipient)}" is not snowflake.` }]);
        }
        return json(apiChannel(ctx.state, ctx.state.dmChannelFor(recipient)));
      },
    },
    { method: 'GET', pattern: '/channels/:channelId', auth: true, handler: (ctx) => json(apiChannel(ctx.state, ctx.state.channel(ctx.params.channelId ?? ''))) },
    { method: 'POST', pattern: '/channels/:channelId/typing', auth: true, handler: (ctx) => (ctx.state.channel(ctx.params.channelId ?? ''), noContent()) },
    {
      method: 'POST', pattern: '/channels/:channelId/messages/:messageId/threads', auth: true,
      handler: (ctx) => {
        const parent = ctx.state.channel(ctx.params.channelId ?? '');
        const message = ctx.state.message(ctx.params.messageId ?? '', parent.id);
        if (message.threadId !== undefined || ctx.state.channels.has(message.id)) throw fail.threadExists();
        const thread = createThread(ctx, parent, message.id);
        message.threadId = thread.id;
        message.flags = (message.flags ?? 0) | 32;
        return json(apiChannel(ctx.state, thread), 201);
      },
    },
    {
      method: 'POST', pattern: '/channels/:channelId/threads', auth: true,
      handler: (ctx) => json(apiChannel(ctx.state, createThread(ctx, ctx.state.channel(ctx.params.channelId ?? ''), undefined)), 201),
    },
    {
      // The guild object without the gateway-only fields (channels, members, joined_at…).
      method: 'GET', pattern: '/guilds/:guildId', auth: true,
      handler: (ctx) => {
        const guild = ctx.state.guilds.get(ctx.params.guildId ?? '');
        if (!guild) throw fail.unknownGuild();
        const { id, name, icon, owner_id, premium_tier, premium_subscription_count, preferred_locale, features, roles, emojis, stickers } = guildCreatePayload(ctx.state, guild);
        return json({ id, name, icon, owner_id, premium_tier, premium_subscription_count, preferred_locale, features, roles, emojis, stickers });
      },
    },
    {
      method: 'GET', pattern: '/guilds/:guildId/members/:userId', auth: true,
      handler: (ctx) => {
        const guild = ctx.state.guilds.get(ctx.params.guildId ?? '');
        if (!guild) throw fail.unknownGuild();
        const user = ctx.state.users.get(ctx.params.userId ?? '');
        if (!user) throw fail.unknownMember();
        return json(apiMember(ctx.state, guild, user.id));
      },
    },
  ];
}
