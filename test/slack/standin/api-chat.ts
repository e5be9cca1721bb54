// chat.* Web API methods.
import { SlackApiError, isObj, requireStr, str } from './api-error.js';
import type { Args } from './api-error.js';
import type { SlackWorld } from './state.js';
import type { SlackMessage } from './types.js';

export type Handler = (args: Args, world: SlackWorld) => Record<string, unknown> | Promise<Record<string, unknown>>;

const MAX_TEXT = 40_000;

/** The checks Slack applies to `blocks` that most often bite: shape, count, text lengths. */
export function validateBlocks(blocks: unknown, max = 50): unknown[] | undefined {
  if (blocks === undefined || blocks === null || blocks === '') return undefined;
  if (!Array.isArray(blocks)) throw new SlackApiError('invalid_blocks_format');
  const problems: string[] = [];
  if (blocks.length > max) problems.push(`no more than ${max} items allowed [json-pointer:/blocks]`);
  blocks.forEach((b, i) => {
    if (!isObj(b) || typeof b.type !== 'string') return void problems.push(`missing required field: type [json-pointer:/blocks/${i}]`);
    const text = isObj(b.text) ? b.text.text : undefined;
    if (b.type === 'section' && typeof text === 'string' && text.length > 3000) {
      problems.push(`must be less than 3001 characters [json-pointer:/blocks/${i}/text/text]`);
    }
    if (b.type === 'header' && typeof text === 'string' && text.length > 150) {
      problems.push(`must be less than 151 characters [json-pointer:/blocks/${i}/text/text]`);
    }
    if (b.type === 'actions' && Array.isArray(b.elements) && b.elements.length > 25) {
      problems.push(`no more than 25 items allowed [json-pointer:/blocks/${i}/elements]`);
    }
  });
  if (problems.length > 0) throw new SlackApiError('invalid_blocks', { errors: problems, response_metadata: { messages: problems.map((p) => `[ERROR] ${p}`) } });
  return blocks;
}

function content(args: Args, requireSome: boolean): { text: string | undefined; blocks: unknown[] | undefined } {
  const text = str(args, 'text');
  const blocks = validateBlocks(args.blocks);
  const hasAttachments = Array.isArray(args.attachments) && args.attachments.length > 0;
  if (requireSome && (text === undefined || text === '') && blocks === undefined && !hasAttachments) throw new SlackApiError('no_text');
  if (text !== undefined && text.length > MAX_TEXT) throw new SlackApiError('msg_too_long');
  return { text, blocks };
}

function ownMessage(world: SlackWorld, args: Args, tsKey: string, notOwn: string): SlackMessage {
  const channel = world.channel(str(args, 'channel'));
  const ts = requireStr(args, tsKey, 'message_not_found');
  const msg = world.findMessage(channel.id, ts);
  if (msg === undefined || msg.deleted) throw new SlackApiError('message_not_found');
  if (msg.user !== world.botUserId) throw new SlackApiError(notOwn);
  return msg;
}

export const chatMethods: Record<string, Handler> = {
  'chat.postMessage': (args, world) => {
    const channel = world.postable(str(args, 'channel'));
    const { text, blocks } = content(args, true);
    const threadTs = str(args, 'thread_ts');
    const msg = world.addMessage({ channel: channel.id, threadTs: threadTs || undefined, user: world.botUserId, botId: world.botId, text: text ?? '', blocks, files: [] });
    return { channel: channel.id, ts: msg.ts, message: world.messageObject(msg) };
  },

  'chat.update': (args, world) => {
    const msg = ownMessage(world, args, 'ts', 'cant_update_message');
    const { text, blocks } = content(args, false);
    if (text === undefined && blocks === undefined) throw new SlackApiError('no_text');
    if (text !== undefined) msg.text = text;
    if (blocks !== undefined) msg.blocks = blocks;
    msg.history.push({ at: Date.now(), text: msg.text, blocks: msg.blocks });
    return { channel: msg.channel, ts: msg.ts, text: msg.text, message: world.messageObject(msg) };
  },

  'chat.postEphemeral': (args, world) => {
    const channel = world.postable(str(args, 'channel'));
    const user = requireStr(args, 'user', 'user_not_found');
    if (!world.users.has(user)) throw new SlackApiError('user_not_found');
    const { text, blocks } = content(args, true);
    const threadTs = str(args, 'thread_ts');
    const msg = world.addMessage({ channel: channel.id, threadTs: threadTs || undefined, user: world.botUserId, botId: world.botId, text: text ?? '', blocks, files: [], ephemeralTo: user });
    return { message_ts: msg.ts };
  },

  'chat.delete': (args, world) => {
    const msg = ownMessage(world, args, 'ts', 'cant_delete_message');
    msg.deleted = true;
    return { channel: msg.channel, ts: msg.ts };
  },

  'chat.getPermalink': (args, world) => {
    const channel = world.channel(str(args, 'channel'));
    const ts = requireStr(args, 'message_ts', 'message_not_found');
    const msg = world.findMessage(channel.id, ts);
    if (msg === undefined || msg.deleted) throw new SlackApiError('message_not_found');
    const thread = msg.threadTs !== undefined && msg.threadTs !== msg.ts ? `?thread_ts=${msg.threadTs}&cid=${channel.id}` : '';
    return { channel: channel.id, permalink: `https://standin.slack.com/archives/${channel.id}/p${ts.replace('.', '')}${thread}` };
  },
};
