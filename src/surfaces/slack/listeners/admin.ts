/**
 * /video-admin on Slack: the same settings as Discord's, per workspace, for
 * workspace admins and owners (checked with users.info), answered ephemerally.
 *   show | channel-add #c | channel-remove #c | channels-clear |
 *   daily-limit N|off | default-model ALIAS|off | default-resolution R|off
 */
import type { App } from '@slack/bolt';
import { UserFacingError, userMessageFor } from '../../../core/errors.js';
import type { AdminCommand } from '../../../usecases/video-use-cases.js';
import { describeSettings } from '../../../usecases/video-use-cases.js';
import { CALLBACKS } from '../slack-refs.js';
import type { SlackListenerDeps } from './context.js';

export const ADMIN_USAGE =
  'Usage: `/video-admin show`, `channel-add #channel`, `channel-remove #channel`, `channels-clear`, `daily-limit 5` (or `off`), `default-model pro` (or `off`), `default-resolution 1080p` (or `off`).';

/** A channel as Slack escapes it in command text (`<#C123|name>`, with escaping on in the manifest). */
function channelOf(arg: string | undefined): string {
  const m = /^<#([CG][A-Z0-9]+)(?:\|[^>]*)?>$/.exec(arg ?? '');
  if (!m) throw new UserFacingError('bad_channel', `Name the channel as #channel (pick it from the list Slack offers). ${ADMIN_USAGE}`);
  return m[1]!;
}

const off = (arg: string | undefined) => arg === undefined || /^(off|none|default)$/i.test(arg);

export function parseAdminCommand(text: string): AdminCommand {
  const [sub = 'show', arg] = text.trim().split(/\s+/).filter(Boolean);
  switch (sub.toLowerCase()) {
    case 'show':
      return { kind: 'show' };
    case 'channel-add':
      return { kind: 'channel-add', channel: channelOf(arg) };
    case 'channel-remove':
      return { kind: 'channel-remove', channel: channelOf(arg) };
    case 'channels-clear':
      return { kind: 'channels-clear' };
    case 'daily-limit': {
      if (off(arg)) return { kind: 'daily-limit', limit: 0 };
      if (!/^\d+$/.test(arg!)) throw new UserFacingError('bad_limit', `The daily limit is a whole number, or \`off\`. ${ADMIN_USAGE}`);
      return { kind: 'daily-limit', limit: Number(arg) };
    }
    case 'default-model':
      return { kind: 'default-model', model: off(arg) ? undefined : arg!.toLowerCase() };
    case 'default-resolution':
      return { kind: 'default-resolution', resolution: off(arg) ? undefined : arg!.toLowerCase() };
    default:
      throw new UserFacingError('bad_admin_command', `Unknown setting "${sub}". ${ADMIN_USAGE}`);
  }
}

export function register(app: App, { useCases, actor, where, log }: SlackListenerDeps): void {
  app.command(CALLBACKS.adminCommand, async ({ ack, command, respond }) => {
    await ack();
    try {
      const w = where(command.channel_id);
      const settings = await useCases.admin(actor(command.user_id), w, parseAdminCommand(command.text ?? ''));
      await respond({ response_type: 'ephemeral', text: describeSettings(settings, w.place?.label ?? 'this workspace') });
    } catch (err) {
      if (!(err instanceof UserFacingError)) log.error({ err }, '/video-admin failed');
      await respond({ response_type: 'ephemeral', text: `:warning: ${userMessageFor(err)}` }).catch(() => undefined);
    }
  });
}
