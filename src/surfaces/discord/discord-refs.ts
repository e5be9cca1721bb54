/**
 * References the core stores for Discord:
 * - conversation `discord:<channel>` or `discord:<channel>:<message to reply to>`,
 *   or `discord:dm:<user>` (resolved to a DM channel when used), or
 *   `discord:dm:<user>:expired` (the same DM, for a job that outlived its
 *   interaction token: its messages say why they come by DM);
 * - message `discord:<channel>:<message>`;
 * - where the bot is not in the channel (a user install in a server that didn't
 *   add the bot, a group DM): the interaction's webhook, conversation
 *   `discord:hook:<application>:<token>:<expires at, ms>:<requester>` and message
 *   `…:<requester>:<message id or @original>`. The token is percent-encoded (real
 *   ones never need it). These references hold a credential for 15 minutes: they
 *   are stored with the job but never logged (nothing logs a reference, and
 *   log-safety.ts masks the token of one that would be).
 */
export const DISCORD = 'discord';

/** An interaction's webhook: where a user-installed app posts when it is not in the channel. */
export interface HookRef {
  appId: string;
  token: string;
  /** When the interaction token stops working (ms since the epoch). */
  expiresAt: number;
  /** Who asked (the DM fallback once the token has expired). */
  userId: string;
  /** `@original` (the interaction's response) or a follow-up's id; absent for the conversation. */
  messageId?: string;
}

export interface DiscordRef {
  channelId?: string;
  messageId?: string;
  dmUserId?: string;
  /** Why a DM conversation is used instead of where the job was asked for. */
  dmReason?: 'expired';
  hook?: HookRef;
}

const HOOK = 'hook';

export function parseRef(ref: string): DiscordRef {
  const parts = ref.split(':');
  const [kind, a, b, c] = parts;
  if (kind !== DISCORD || !a) throw new Error('not a Discord reference');
  if (a === HOOK) {
    const [, , appId, token, expires, userId, messageId] = parts;
    const expiresAt = Number(expires);
    if (!appId || !token || !userId || !Number.isFinite(expiresAt) || parts.length > 7) throw new Error('not a Discord webhook reference');
    return { hook: { appId, token: decodeURIComponent(token), expiresAt, userId, ...(messageId ? { messageId } : {}) } };
  }
  if (a === 'dm') return { dmUserId: b, ...(c === 'expired' ? { dmReason: 'expired' as const } : {}) };
  return { channelId: a, ...(b ? { messageId: b } : {}) };
}

export const messageRef = (channelId: string, messageId: string) => `${DISCORD}:${channelId}:${messageId}`;
export const channelRef = (channelId: string, replyTo?: string) => (replyTo ? `${DISCORD}:${channelId}:${replyTo}` : `${DISCORD}:${channelId}`);
export const dmRef = (userId: string, reason?: 'expired') => `${DISCORD}:dm:${userId}${reason ? `:${reason}` : ''}`;
export const isHookRef = (ref: string) => ref.startsWith(`${DISCORD}:${HOOK}:`);

/** The interaction webhook as a conversation, or (with `messageId`) one of its messages. */
export function hookRef(h: HookRef): string {
  const base = `${DISCORD}:${HOOK}:${h.appId}:${encodeURIComponent(h.token)}:${Math.floor(h.expiresAt)}:${h.userId}`;
  return h.messageId ? `${base}:${h.messageId}` : base;
}

/** Button ids: `sd:<action>:<job id>`. */
export type ButtonAction = 'cancel' | 'reroll' | 'again' | 'extend' | 'delete';
export const buttonId = (action: ButtonAction, jobId: string) => `sd:${action}:${jobId}`;
export function parseButtonId(id: string): { action: ButtonAction; jobId: string } | undefined {
  const m = /^sd:(cancel|reroll|again|extend|delete):([\w-]+)$/.exec(id);
  return m ? { action: m[1] as ButtonAction, jobId: m[2]! } : undefined;
}
