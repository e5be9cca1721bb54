/**
 * References the core stores for Discord:
 * - conversation `discord:<channel>` or `discord:<channel>:<message to reply to>`,
 *   or `discord:dm:<user>` (resolved to a DM channel when used);
 * - message `discord:<channel>:<message>`.
 */
export const DISCORD = 'discord';

export interface DiscordRef {
  channelId?: string;
  messageId?: string;
  dmUserId?: string;
}

export function parseRef(ref: string): DiscordRef {
  const [kind, a, b] = ref.split(':');
  if (kind !== DISCORD || !a) throw new Error(`not a Discord reference: ${ref}`);
  if (a === 'dm') return { dmUserId: b };
  return { channelId: a, ...(b ? { messageId: b } : {}) };
}

export const messageRef = (channelId: string, messageId: string) => `${DISCORD}:${channelId}:${messageId}`;
export const channelRef = (channelId: string, replyTo?: string) => (replyTo ? `${DISCORD}:${channelId}:${replyTo}` : `${DISCORD}:${channelId}`);
export const dmRef = (userId: string) => `${DISCORD}:dm:${userId}`;

/** Button ids: `sd:<action>:<job id>`. */
export type ButtonAction = 'cancel' | 'reroll' | 'again' | 'delete';
export const buttonId = (action: ButtonAction, jobId: string) => `sd:${action}:${jobId}`;
export function parseButtonId(id: string): { action: ButtonAction; jobId: string } | undefined {
  const m = /^sd:(cancel|reroll|again|delete):([\w-]+)$/.exec(id);
  return m ? { action: m[1] as ButtonAction, jobId: m[2]! } : undefined;
}
