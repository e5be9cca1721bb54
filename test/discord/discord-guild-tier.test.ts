// A server's boost tier for the upload limit: the client's cache, else GET /guilds/{id} once (kept), over real REST.
import { REST } from 'discord.js';
import Keyv from 'keyv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGuildTiers } from '../../src/surfaces/discord/discord-guild-tier.js';
import { channelRef } from '../../src/surfaces/discord/discord-refs.js';
import { createDiscordSurface, TIER_LIMITS } from '../../src/surfaces/discord/discord-surface.js';
import type { Logger } from '../../src/core/logger.js';
import { silentLogger } from '../../src/core/logger.js';
import { startDiscordStandin } from './standin/discord-standin.js';
import type { DiscordStandin } from './standin/discord-standin.js';

const BOOSTED = '800000000000000011';
const ELSEWHERE = '800000000000000012';
let standin: DiscordStandin;
let rest: REST;

beforeAll(async () => {
  standin = await startDiscordStandin({
    guilds: [
      { id: BOOSTED, name: 'Boosted', premiumTier: 2, channels: [{ id: '810000000000000011', name: 'general' }] },
      { id: ELSEWHERE, name: 'Never added the bot', botMember: false, channels: [{ id: '810000000000000012', name: 'general' }] },
    ],
  });
  rest = new REST({ api: `${standin.url}/api`, retries: 0, timeout: 2000 }).setToken(standin.token);
});
afterAll(async () => {
  await standin?.close();
});

const lookups = (id: string) => standin.calls.filter((c) => c.method === 'GET' && c.path === `/guilds/${id}`).length;

describe('guild tiers', () => {
  it('asks Discord once for a server missing from the cache, and keeps the answer for an hour', async () => {
    let now = 1_000_000;
    const tier = createGuildTiers({ rest, cached: () => undefined, now: () => now });
    expect(await Promise.all([tier(BOOSTED), tier(BOOSTED)])).toEqual([2, 2]);
    expect(await tier(BOOSTED)).toBe(2);
    expect(lookups(BOOSTED)).toBe(1);
    now += 60 * 60_000 + 1;
    expect(await tier(BOOSTED)).toBe(2);
    expect(lookups(BOOSTED)).toBe(2);
  });

  it('uses the cache when the server is on one of this instance\'s shards', async () => {
    const before = lookups(BOOSTED);
    const tier = createGuildTiers({ rest, cached: (id) => (id === BOOSTED ? 3 : undefined) });
    expect(await tier(BOOSTED)).toBe(3);
    expect(lookups(BOOSTED)).toBe(before);
  });

  it('answers undefined (the smallest limit) when Discord refuses, and waits 5 minutes before asking again', async () => {
    let now = 1_000_000;
    const warnings: unknown[] = [];
    const logger: Logger = { ...silentLogger, warn: (o) => void warnings.push(o) };
    const tier = createGuildTiers({ rest, cached: () => undefined, now: () => now, logger });
    expect(await tier(ELSEWHERE)).toBeUndefined();
    expect(await tier('800000000000000099')).toBeUndefined();
    expect(await tier(ELSEWHERE)).toBeUndefined();
    expect([lookups(ELSEWHERE), lookups('800000000000000099')]).toEqual([1, 1]);
    expect(warnings).toHaveLength(2);
    now += 5 * 60_000 + 1;
    await tier(ELSEWHERE);
    expect(lookups(ELSEWHERE)).toBe(2);
  });

  it("gives the surface's upload limit of a job without one of its own", async () => {
    const surface = createDiscordSurface({ rest, kv: new Keyv(), progressIntervalMs: 5000, allowDms: true, guildTier: createGuildTiers({ rest, cached: () => undefined }) });
    expect(await surface.maxUploadBytes(channelRef('810000000000000011'), { guildId: BOOSTED })).toBe(TIER_LIMITS[2]);
    expect(await surface.maxUploadBytes(channelRef('810000000000000012'), { guildId: ELSEWHERE })).toBe(TIER_LIMITS[0]);
    expect(await surface.maxUploadBytes(channelRef('810000000000000011'), { guildId: BOOSTED, uploadLimit: '1234' })).toBe(1234);
  });
});
