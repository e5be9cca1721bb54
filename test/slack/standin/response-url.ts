// response_url stand-in: POST ${url}/hooks/response/<channel>/<user>/<messageTs|->/<id> (as built by the sender
// when given `responseUrlBase`). Ephemeral by default, `response_type: 'in_channel'` posts visibly,
// replace_original / delete_original act on the message the interaction came from. 5 uses per URL.
import type { SlackWorld } from './state.js';

const MAX_USES = 5;

export function handleResponseUrl(world: SlackWorld, path: string, raw: Buffer): { status: number; body: Record<string, unknown>; args: Record<string, unknown> } {
  const parts = path.slice('/hooks/response/'.length).split('/').map(decodeURIComponent);
  const [channelId, userId, messageTs, id] = parts;
  let args: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(raw.toString('utf8')) as unknown;
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) args = parsed as Record<string, unknown>;
  } catch {
    return { status: 400, body: { ok: false, error: 'invalid_payload' }, args: { raw: raw.toString('utf8') } };
  }
  const channel = channelId === undefined ? undefined : world.channels.get(channelId);
  if (channel === undefined || userId === undefined || id === undefined) return { status: 404, body: { ok: false, error: 'invalid_token' }, args };
  const uses = (world.responseUrlUses.get(path) ?? 0) + 1;
  world.responseUrlUses.set(path, uses);
  if (uses > MAX_USES) return { status: 404, body: { ok: false, error: 'used_url' }, args };

  const original = messageTs === undefined || messageTs === '-' ? undefined : world.findMessage(channel.id, messageTs);
  const text = typeof args.text === 'string' ? args.text : '';
  const blocks = Array.isArray(args.blocks) ? (args.blocks as unknown[]) : undefined;
  if (args.delete_original === true || args.delete_original === 'true') {
    if (original !== undefined) original.deleted = true;
    return { status: 200, body: { ok: true }, args };
  }
  if ((args.replace_original === true || args.replace_original === 'true') && original !== undefined && !original.deleted) {
    original.text = text;
    original.blocks = blocks;
    original.history.push({ at: Date.now(), text, blocks });
    return { status: 200, body: { ok: true }, args };
  }
  const threadTs = typeof args.thread_ts === 'string' ? args.thread_ts : undefined;
  world.addMessage({
    channel: channel.id,
    threadTs,
    user: world.botUserId,
    botId: world.botId,
    text,
    blocks,
    files: [],
    ephemeralTo: args.response_type === 'in_channel' ? undefined : userId,
  });
  return { status: 200, body: { ok: true }, args };
}
