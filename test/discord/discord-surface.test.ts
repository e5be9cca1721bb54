/** The Discord surface against the stand-in's REST API: the ChatSurface contract and upload limits. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// REST from discord.js (its CommonJS copy), as the bot uses: its errors are the DiscordAPIError the surface checks for.
import { REST } from 'discord.js';
import type { ChatInputCommandInteraction } from 'discord.js';
import Keyv from 'keyv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/core/logger.js';
import { silentLogger } from '../../src/core/logger.js';
import { SurfaceGoneError } from '../../src/core/ports.js';
import { DM_LATER_NOTE, EXPIRED_NOTE, INTERACTION_TOKEN_TTL_MS, TIER_LIMITS, createDiscordSurface, jobOfMessage } from '../../src/surfaces/discord/discord-surface.js';
import type { HookRef } from '../../src/surfaces/discord/discord-refs.js';
import { channelRef, dmRef, hookRef, isHookRef, parseRef } from '../../src/surfaces/discord/discord-refs.js';
import { chatSurfaceContract, sampleMessages } from '../surfaces/chat-surface-contract.js';
import { STANDIN_IDS, startDiscordStandin } from './standin/discord-standin.js';
import type { DiscordStandin } from './standin/discord-standin.js';
import { nextEvent, startHarness } from './standin/test-client.js';
import type { Harness } from './standin/test-client.js';

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

const FOREIGN_GUILD = '800000000000000009';
const FOREIGN_CHANNEL = '810000000000000091';

describe('Discord surface through an interaction webhook (where the bot is not in the channel)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      guilds: [
        { id: STANDIN_IDS.guild, name: 'Test Guild', channels: [{ id: STANDIN_IDS.general, name: 'general' }] },
        { id: FOREIGN_GUILD, name: 'Elsewhere', botMember: false, channels: [{ id: FOREIGN_CHANNEL, name: 'lounge' }] },
      ],
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  /** A user-install /video in the foreign server, answered like the bot does ("Starting…"). */
  async function interaction(): Promise<HookRef & { originalId: string }> {
    const { id, token } = h.standin.slashCommand({ name: 'video', channelId: FOREIGN_CHANNEL });
    const [i] = await nextEvent(h.client, 'interactionCreate', (x) => x.id === id);
    await (i as ChatInputCommandInteraction).reply({ content: 'Starting…' });
    const originalId = h.standin.interactionResponses.get(id)!.messageId!;
    return { appId: h.standin.applicationId, token, expiresAt: Date.now() + INTERACTION_TOKEN_TTL_MS, userId: STANDIN_IDS.alice, originalId };
  }
  function hookSurface(o: { now?: () => number; allowDms?: boolean; kv?: Keyv; logger?: Logger } = {}) {
    const rest = new REST({ api: `${h.standin.url}/api`, retries: 0, timeout: 2000 }).setToken(h.standin.token);
    return createDiscordSurface({
      rest,
      kv: o.kv ?? new Keyv(),
      progressIntervalMs: 5000,
      allowDms: o.allowDms ?? true,
      guildTier: () => undefined,
      ...(o.now ? { now: o.now } : {}),
      ...(o.logger ? { logger: o.logger } : {}),
    });
  }
  /** The message a returned reference names (a follow-up's id, or a channel message). */
  const messageOf = (ref: string) => {
    const r = parseRef(ref);
    return h.standin.messages.get(r.hook ? r.hook.messageId! : r.messageId!)!;
  };
  const mp4 = () => {
    const dir = mkdtempSync(join(tmpdir(), 'hook-'));
    const path = join(dir, 'v.mp4');
    writeFileSync(path, Buffer.alloc(2048, 3));
    return { path, name: 'seedance-4242.mp4', bytes: 2048, contentType: 'video/mp4' as const };
  };
  const strip = ({ originalId: _, ...hook }: HookRef & { originalId: string }): HookRef => hook;
  const hookCalls = (token: string) => h.standin.calls.filter((c) => c.path.startsWith(`/webhooks/${h.standin.applicationId}/${token}`));

  chatSurfaceContract('discord (interaction webhook)', async () => ({
    surface: hookSurface(),
    conversation: hookRef(strip(await interaction())),
    async shown(ref) {
      const m = messageOf(ref);
      return `${m.content}\n${JSON.stringify(m.components)}`;
    },
  }));

  it('edits the response (@original) with the bot token left out, noting that a long job comes by DM', async () => {
    const hook = await interaction();
    const s = hookSurface();
    const progress = hookRef({ ...hook, messageId: '@original' });
    await s.edit(progress, sampleMessages.progress);
    const patch = hookCalls(hook.token).find((c) => c.method === 'PATCH')!;
    expect(patch.path.endsWith('/messages/@original')).toBe(true);
    expect(patch.auth).toBeUndefined();
    const original = h.standin.messages.get(hook.originalId)!;
    expect(original.content).toContain('25%');
    expect(original.content).toContain(DM_LATER_NOTE);
    expect(h.standin.calls.filter((c) => c.path.startsWith('/channels/'))).toEqual([]);
  });

  it('posts the video once per idempotency key: a retry finds the follow-up it already posted', async () => {
    const hook = await interaction();
    const s = hookSurface();
    const first = await s.upload(hookRef(hook), mp4(), sampleMessages.video, { idempotencyKey: 'job-hook-1' });
    const again = await s.upload(hookRef(hook), mp4(), sampleMessages.video, { idempotencyKey: 'job-hook-1' });
    expect(again).toBe(first);
    expect(hookCalls(hook.token).filter((c) => c.method === 'POST')).toHaveLength(1);
    const m = messageOf(first);
    expect(m.channelId).toBe(FOREIGN_CHANNEL);
    expect(m.attachments[0]!.data.equals(Buffer.alloc(2048, 3))).toBe(true);
  });

  it('the documented gap: a follow-up sent but not recorded (the bot died meanwhile) is posted again, with a warning', async () => {
    const hook = await interaction();
    const kv = new Keyv();
    await kv.set('discord:hooksent:job-hook-5', { sendingAt: Date.now() - 1000 });
    const warnings: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (_o, msg) => void warnings.push(msg ?? '') };
    await hookSurface({ kv, logger }).upload(hookRef(strip(hook)), mp4(), sampleMessages.video, { idempotencyKey: 'job-hook-5' });
    expect(hookCalls(hook.token).filter((c) => c.method === 'POST')).toHaveLength(1);
    expect(warnings).toEqual(['an earlier follow-up may have reached Discord without its answer; posting it again']);
    expect(await kv.get('discord:hooksent:job-hook-5')).toMatchObject({ id: expect.any(String) });
  });

  it('once the token has expired by the clock, sends to the requester\'s DM with the reason, once, without trying the webhook', async () => {
    const hook = await interaction();
    const s = hookSurface({ now: () => Date.now() + INTERACTION_TOKEN_TTL_MS + 1000 });
    const first = await s.upload(hookRef(hook), mp4(), sampleMessages.video, { idempotencyKey: 'job-hook-2' });
    const again = await s.upload(hookRef(hook), mp4(), sampleMessages.video, { idempotencyKey: 'job-hook-2' });
    expect(again).toBe(first);
    expect(isHookRef(first)).toBe(false);
    const m = messageOf(first);
    expect(h.standin.channels.get(m.channelId)).toMatchObject({ type: 1, recipientId: STANDIN_IDS.alice });
    expect(m.content.startsWith(EXPIRED_NOTE)).toBe(true);
    expect(hookCalls(hook.token)).toEqual([]);
    await expect(s.edit(hookRef({ ...hook, messageId: '@original' }), sampleMessages.progress)).rejects.toBeInstanceOf(SurfaceGoneError);
    expect(await s.fallbackConversation!(STANDIN_IDS.alice, hookRef(hook))).toBe(dmRef(STANDIN_IDS.alice, 'expired'));
  });

  it('when Discord refuses the token (401 50027), sends to the DM instead and keeps the bot token', async () => {
    const hook = await interaction();
    const s = hookSurface();
    h.standin.addFault({ method: 'POST', pathIncludes: `/webhooks/${h.standin.applicationId}/`, status: 401, body: { code: 50027, message: 'Invalid Webhook Token' } });
    const ref = await s.upload(hookRef(hook), mp4(), sampleMessages.video, { idempotencyKey: 'job-hook-3' });
    expect(messageOf(ref).content.startsWith(EXPIRED_NOTE)).toBe(true);
    expect(hookCalls(hook.token).filter((c) => c.method === 'POST').map((c) => c.status)).toEqual([401]);
    h.standin.addFault({ method: 'PATCH', pathIncludes: `/webhooks/${h.standin.applicationId}/`, status: 401, body: { code: 50027, message: 'Invalid Webhook Token' } });
    await expect(s.edit(hookRef({ ...hook, messageId: '@original' }), sampleMessages.progress)).rejects.toBeInstanceOf(SurfaceGoneError);
    // Still usable with the bot token after a 401 on a webhook call.
    await s.post(channelRef(STANDIN_IDS.general), sampleMessages.failed);
  });

  it('with DMs off, an expired token is "gone" and there is no fallback', async () => {
    const hook = await interaction();
    const s = hookSurface({ now: () => Date.now() + INTERACTION_TOKEN_TTL_MS + 1000, allowDms: false });
    await expect(s.upload(hookRef(hook), mp4(), sampleMessages.video, { idempotencyKey: 'job-hook-4' })).rejects.toBeInstanceOf(SurfaceGoneError);
    expect(await s.fallbackConversation!(STANDIN_IDS.alice, hookRef(hook))).toBeUndefined();
  });
});
