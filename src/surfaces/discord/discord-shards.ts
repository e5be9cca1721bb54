/**
 * Gateway sharding: which shards this instance runs, and whether they are up.
 *
 * Discord sends a server's events (interactions, messages, GUILD_CREATE…) to
 * shard `(guild_id >> 22) % count` and DMs to shard 0, so instances that split
 * the shards between them each see their own servers. Nothing else here depends
 * on the shard: posting, progress edits and uploads go over REST, which any
 * instance can use for any channel.
 *
 * discord.js resumes or re-identifies a shard after an ordinary close by
 * itself. After a close it can't recover from (4004 authentication failed,
 * 4010 invalid shard, 4011 sharding required, 4013/4014 intents) it leaves that
 * shard down for good while `client.isReady()` stays true, so readiness here
 * looks at every shard, and such a close counts as a lost connection.
 */
import type { Client, ClientOptions } from 'discord.js';
import { Events, Status } from 'discord.js';
import type { Logger } from '../../core/logger.js';

/** discord.js `shards` / `shardCount` for DISCORD_SHARD_COUNT and DISCORD_SHARDS (unset: all of them). */
export function shardOptions(count: 'auto' | number, ids: readonly number[] | undefined): Pick<ClientOptions, 'shards' | 'shardCount'> {
  // 'auto': discord.js asks GET /gateway/bot (through the client's REST, DISCORD_API_URL) at login and runs them all.
  if (count === 'auto') return { shards: 'auto' };
  return { shards: ids ? [...ids] : Array.from({ length: count }, (_, i) => i), shardCount: count };
}

/** True once every shard this client runs is READY (or resumed), and while none is reconnecting or down. */
export function allShardsReady(client: Client): boolean {
  return client.isReady() && client.ws.shards.size > 0 && client.ws.shards.every((s) => s.status === Status.Ready);
}

/** Logs each shard's ups and downs. */
export function logShards(client: Client, log: Logger): void {
  client.on(Events.ShardReady, (shard, unavailable) => log.info({ shard, unavailableGuilds: unavailable?.size ?? 0 }, 'Discord shard ready'));
  client.on(Events.ShardReconnecting, (shard) => log.info({ shard }, 'Discord shard reconnecting'));
  client.on(Events.ShardResume, (shard, replayed) => log.info({ shard, replayed }, 'Discord shard resumed'));
  client.on(Events.ShardDisconnect, (event, shard) => log.error({ shard, code: event.code }, 'Discord closed a shard for good'));
}

/** Settles when Discord closes one of the client's shards in a way discord.js won't recover from. */
export function shardLost(client: Client): Promise<Error> {
  return new Promise((resolve) =>
    client.once(Events.ShardDisconnect, (event, shard) => resolve(new Error(`Discord closed shard ${shard} with code ${event.code}`))),
  );
}
