/** The Discord surface against the stand-in's REST API: the ChatSurface contract and upload limits. */
import { REST } from '@discordjs/rest';
import Keyv from 'keyv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TIER_LIMITS, createDiscordSurface, jobOfMessage } from '../../src/surfaces/discord/discord-surface.js';
import { channelRef } from '../../src/surfaces/discord/discord-refs.js';
import { chatSurfaceContract } from '../surfaces/chat-surface-contract.js';
import { STANDIN_IDS, startDiscordStandin } from './standin/discord-standin.js';
import type { DiscordStandin } from './standin/discord-standin.js';

let standin: DiscordStandin;
const kv = new Keyv();
beforeAll(async () => {
  standin = await startDiscordStandin();
});
afterAll(async () => {
  await standin?.close();
});

function surface(tiers: Record<string, number> = {}) {
  const rest = new REST({ api: `${standin.url}/api`, retries: 0, timeout: 2000 }).setToken(standin.token);
  return createDiscordSurface({ rest, kv, progressIntervalMs: 5000, allowDms: true, guildTier: (id) => tiers[id] });
}

chatSurfaceContract('discord', async () => ({
  surface: surface(),
  conversation: channelRef(STANDIN_IDS.general),
  async shown(ref) {
    const m = standin.messages.get(ref.split(':')[2]!)!;
    return `${m.content}\n${JSON.stringify(m.components)}`;
  },
}));

describe('Discord surface', () => {
  it('uses the limit the interaction declared, else the server boost tier', async () => {
    const s = surface({ [STANDIN_IDS.guild]: 3 });
    expect(await s.maxUploadBytes('discord:1', { uploadLimit: '26214400' })).toBe(26_214_400);
    expect(await s.maxUploadBytes('discord:1', { guildId: STANDIN_IDS.guild })).toBe(TIER_LIMITS[3]);
    expect(await s.maxUploadBytes('discord:1', {})).toBe(10 * 1024 * 1024);
  });

  it('remembers which job a result message belongs to (for replies and buttons)', async () => {
    const ref = await surface().post(channelRef(STANDIN_IDS.general), { kind: 'failed', job: { id: 'job-77', prompt: 'p', modelLabel: 'l', modelAlias: 'lite', resolution: '720p', duration: 5, seed: 1, fromImage: false, requesterId: 'u' }, text: 'x' });
    expect(await jobOfMessage(kv, ref.split(':')[2]!)).toBe('job-77');
  });
});
