/**
 * References the core stores for Slack: `slack:<team>:<channel>:<ts>` is a
 * message; as a conversation it means "in the thread of that message". A DM
 * fallback is `slack:<team>:dm:<user>`, opened when used.
 */
export const SLACK = 'slack';

export interface SlackRef {
  team: string;
  channel?: string;
  ts?: string;
  dmUser?: string;
}

export function parseSlackRef(ref: string): SlackRef {
  const [kind, team, a, b] = ref.split(':');
  if (kind !== SLACK || !team || !a) throw new Error(`not a Slack reference: ${ref}`);
  if (a === 'dm') return { team, dmUser: b };
  return { team, channel: a, ...(b ? { ts: b } : {}) };
}

export const slackRef = (team: string, channel: string, ts?: string) => `${SLACK}:${team}:${channel}${ts ? `:${ts}` : ''}`;
export const slackDmRef = (team: string, user: string) => `${SLACK}:${team}:dm:${user}`;

/** Block Kit ids. */
export const ACTIONS = { cancel: 'sd_cancel', reroll: 'sd_reroll', again: 'sd_again', extend: 'sd_extend', delete: 'sd_delete' } as const;
export const CALLBACKS = { globalShortcut: 'make_video', messageShortcut: 'animate_image', modal: 'video_modal', extendModal: 'extend_modal', command: '/video', adminCommand: '/video-admin' } as const;
