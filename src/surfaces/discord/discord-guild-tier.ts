/**
 * A server's boost tier, for the upload limit of a job that carries no limit of
 * its own (a job started by a mention; interactions bring attachment_size_limit).
 * The client's cache only holds the servers on this instance's shards, and is
 * empty before the gateway is up, while a job may be delivered by an instance
 * that runs other shards (it took the job over) or that resumed it at start. So
 * a server missing from the cache is looked up once over REST (GET /guilds/{id})
 * and its tier kept for a while; when that fails the smallest limit is used.
 */
import type { REST } from '@discordjs/rest';
import { Routes } from 'discord.js';
import type { Logger } from '../../core/logger.js';

const KEEP_MS = 60 * 60_000;
/** A failed lookup is not tried again for this long (the default limit is used meanwhile). */
const FAILED_KEEP_MS = 5 * 60_000;
const MAX_KEPT = 10_000;

export function createGuildTiers(o: {
  rest: Pick<REST, 'get'>;
  /** The tier from the client's cache, when the server is on one of this instance's shards. */
  cached(guildId: string): number | undefined;
  now?: () => number;
  logger?: Logger;
}): (guildId: string) => Promise<number | undefined> {
  const now = o.now ?? Date.now;
  const kept = new Map<string, { tier: number | undefined; until: number }>();
  const asking = new Map<string, Promise<number | undefined>>();

  async function ask(guildId: string): Promise<number | undefined> {
    try {
      const guild = (await o.rest.get(Routes.guild(guildId))) as { premium_tier?: unknown };
      const tier = typeof guild.premium_tier === 'number' ? guild.premium_tier : undefined;
      keep(guildId, tier, KEEP_MS);
      return tier;
    } catch (err) {
      o.logger?.warn({ err, guild: guildId }, "could not look up the server's boost tier; using the smallest upload limit");
      keep(guildId, undefined, FAILED_KEEP_MS);
      return undefined;
    }
  }

  function keep(guildId: string, tier: number | undefined, ms: number) {
    kept.delete(guildId);
    if (kept.size >= MAX_KEPT) kept.delete(kept.keys().next().value!);
    kept.set(guildId, { tier, until: now() + ms });
  }

  return async (guildId) => {
    const cached = o.cached(guildId);
    if (cached !== undefined) return cached;
    const k = kept.get(guildId);
    if (k && k.until > now()) return k.tier;
    let p = asking.get(guildId);
    if (!p) {
      p = ask(guildId).finally(() => asking.delete(guildId));
      asking.set(guildId, p);
    }
    return p;
  };
}
