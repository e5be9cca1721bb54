/**
 * Whether the bot can post where an interaction came from with its own token
 * (the channel API), or only through the interaction's webhook.
 *
 * The app can be installed to a server (the bot joins it) or to a user (the
 * commands follow the user everywhere, the bot joins nothing). The interaction
 * says which installs authorised it (`authorizing_integration_owners`: "0" is the
 * server's install, "1" the user's) and where it happened (`context`: 0 a
 * server, 1 the bot's DM, 2 a DM or group DM between users). The channel API
 * works only where the bot is a member and may view, send and attach:
 * - context 2 (private channel): never; the bot is not in that conversation;
 * - context 0 (server): when the server installed the app (owners["0"] is this
 *   server) and `app_permissions` has View Channel, Send Messages (Send Messages
 *   in Threads in a thread) and Attach Files;
 * - context 1 (the bot's DM): always; it is the bot's own channel.
 * Elsewhere the webhook is used, for the token's 15 minutes.
 */
import type { BaseInteraction } from 'discord.js';
import { InteractionContextType, PermissionFlagsBits } from 'discord.js';

export type Reach = { via: 'channel' } | { via: 'webhook'; reason: 'private channel' | 'user install' | 'missing permissions' };

export interface ReachFacts {
  /** The interaction's `context` (null when Discord sent none). */
  context: number | null;
  guildId: string | null;
  /** `authorizing_integration_owners["0"]`: the server that installed the app (or "0" in the bot's DM). */
  guildInstall: string | null;
  /** `app_permissions`. */
  appPermissions: bigint;
  inThread: boolean;
}

export function reachOf(f: ReachFacts): Reach {
  if (f.context === InteractionContextType.PrivateChannel) return { via: 'webhook', reason: 'private channel' };
  if (!f.guildId) return { via: 'channel' };
  if (f.guildInstall !== f.guildId) return { via: 'webhook', reason: 'user install' };
  const send = f.inThread ? PermissionFlagsBits.SendMessagesInThreads : PermissionFlagsBits.SendMessages;
  const needed = PermissionFlagsBits.ViewChannel | send | PermissionFlagsBits.AttachFiles;
  if ((f.appPermissions & needed) !== needed) return { via: 'webhook', reason: 'missing permissions' };
  return { via: 'channel' };
}

/** The facts of a discord.js interaction. */
export function interactionReach(i: BaseInteraction): Reach {
  const channel = i.channel;
  return reachOf({
    context: i.context ?? null,
    guildId: i.guildId,
    guildInstall: i.authorizingIntegrationOwners?.guildId ?? null,
    appPermissions: i.appPermissions?.bitfield ?? 0n,
    inThread: Boolean(channel && 'isThread' in channel && channel.isThread()),
  });
}
