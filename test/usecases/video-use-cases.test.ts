/**
 * The platform-free use cases over the real core (memory store, scripted
 * provider): the named checks in their order, defaults, usage and settings.
 */
import { describe, expect, it } from 'vitest';
import { createCatalogue } from '../../src/core/catalogue.js';
import { BUILTIN_MODELS } from '../../src/providers/index.js';
import { createPlaceSettings } from '../../src/usecases/place-settings.js';
import type { Actor, Where } from '../../src/usecases/video-use-cases.js';
import { createVideoUseCases, describeSettings, describeUsage } from '../../src/usecases/video-use-cases.js';
import { harness } from '../core/harness.js';

const server: Where = { place: { key: 'test:guild:1', label: 'this server' }, channelId: 'c-general' };
const other: Where = { place: { key: 'test:guild:2', label: 'this server' }, channelId: 'c-elsewhere' };

function actor(userId: string, rights: { moderate?: boolean; admin?: boolean } = {}): Actor {
  return { surface: 'test', userId, canModerate: async () => Boolean(rights.moderate), canAdminister: async () => Boolean(rights.admin) };
}

async function world(config = {}) {
  const h = await harness({ config });
  await h.service.start();
  const settings = createPlaceSettings(h.db.kv);
  const uc = createVideoUseCases({ service: h.service, settings, catalogue: createCatalogue(BUILTIN_MODELS, { providers: ['aimlapi'] }) });
  let n = 0;
  const start = (who: Actor, where: Where, prompt = 'a fox') =>
    uc.start({
      actor: who,
      where,
      input: { prompt },
      conversation: `test:${where.channelId}:${++n}`,
      announce: async (job) => ({ progressMessage: `test:${where.channelId}:${job.id}` }),
    });
  return { h, uc, settings, start };
}

describe('video use cases', () => {
  it('refuse a channel the place does not allow (a thread counts as its parent) before any limit or submit', async () => {
    const { h, uc, start } = await world();
    const admin = actor('boss', { admin: true });
    await uc.admin(admin, server, { kind: 'channel-add', channel: 'c-art' });
    await expect(start(actor('u1'), server)).rejects.toThrow('Videos can be made in <#c-art>.');
    await expect(start(actor('u1'), { ...server, channelId: 'thread-1', parentId: 'c-art' })).resolves.toMatchObject({ status: expect.any(String) });
    await expect(start(actor('u1'), { ...server, channelId: 'c-art' })).resolves.toBeDefined();
    // A DM has no place: the allow-list does not apply there.
    await expect(start(actor('u1'), { channelId: 'dm-1' })).resolves.toBeDefined();
    expect(h.surf.log.filter((r) => r.op === 'post')).toHaveLength(0); // the announce callback posted nothing through the surface
  });

  it("apply the place's daily limit and defaults, and report usage against the tightest limit", async () => {
    const { h, uc, start } = await world();
    const admin = actor('boss', { admin: true });
    await uc.admin(admin, server, { kind: 'daily-limit', limit: 2 });
    await uc.admin(admin, server, { kind: 'default-model', model: 'pro' });
    const first = await start(actor('u1'), server);
    expect(first.request.modelId).toContain('pro');
    await start(actor('u1'), server);
    await expect(start(actor('u1'), server)).rejects.toThrow("You've made 2 videos today; this server allows 2 a day");
    // Another server has its own rules.
    await expect(start(actor('u1'), other)).resolves.toBeDefined();
    const usage = await uc.usage(actor('u1'), server);
    expect(usage).toMatchObject({ today: 3, todayHere: 2, limit: { perDay: 2, by: 'place' } });
    expect(describeUsage(usage)).toContain("You've made 2 videos today (UTC); this server allows 2 a day.");
    expect(h.store).toBeDefined();
  });

  it('check validation before limits, and the per-user cap', async () => {
    const { uc, start } = await world({ maxPerUser: 1, maxQueuedPerUser: 0 });
    await expect(uc.start({ actor: actor('u1'), where: server, input: { prompt: 'x', model: 'nope' }, conversation: 'test:c', announce: async () => ({ progressMessage: 'test:c:1' }) })).rejects.toThrow(/model/i);
    await start(actor('u1'), server);
    await expect(start(actor('u1'), server)).rejects.toThrow('You have 1 job running');
    await expect(start(actor('u2'), server)).resolves.toBeDefined();
  });

  it('let only the requester or a moderator of the job’s own place cancel or delete', async () => {
    const { uc, start } = await world();
    const job = await start(actor('u1'), server, 'slow one');
    await expect(uc.cancel(actor('u2'), server, job.id)).rejects.toThrow('Only the person who asked for this video, or a moderator of this server');
    await expect(uc.cancel(actor('mod', { moderate: true }), other, job.id)).rejects.toThrow('Only the person who asked');
    await expect(uc.authorize(actor('mod', { moderate: true }), server, job.id)).resolves.toMatchObject({ id: job.id });
    // Cancelled, or (while its submit is on its way) marked to be cancelled when the provider answers.
    const byMod = await uc.cancel(actor('mod', { moderate: true }), server, job.id);
    expect(byMod.status === 'cancelled' || byMod.cancelRequested !== undefined).toBe(true);
    const mine = await start(actor('u1'), { channelId: 'dm-1' });
    const byMe = await uc.cancel(actor('u1'), { channelId: 'dm-1' }, mine.id);
    expect(byMe.status === 'cancelled' || byMe.cancelRequested !== undefined).toBe(true);
  });

  it('change settings for admins only, validating what they set', async () => {
    const { uc } = await world();
    await expect(uc.admin(actor('u1', { moderate: true }), server, { kind: 'daily-limit', limit: 3 })).rejects.toThrow("needs admin rights in this server");
    await expect(uc.admin(actor('boss', { admin: true }), { channelId: 'dm' }, { kind: 'show' })).rejects.toThrow('Settings apply to a server or workspace');
    const admin = actor('boss', { admin: true });
    await expect(uc.admin(admin, server, { kind: 'default-model', model: 'turbo' })).rejects.toThrow('Unknown model "turbo"');
    await expect(uc.admin(admin, server, { kind: 'default-resolution', resolution: '8k' })).rejects.toThrow('Unknown resolution "8k"');
    await expect(uc.admin(admin, server, { kind: 'daily-limit', limit: -1 })).rejects.toThrow('whole number');
    await uc.admin(admin, server, { kind: 'channel-add', channel: 'c1' });
    await uc.admin(admin, server, { kind: 'channel-add', channel: 'c2' });
    await uc.admin(admin, server, { kind: 'channel-remove', channel: 'c1' });
    const s = await uc.admin(admin, server, { kind: 'default-resolution', resolution: '1080p' });
    expect(s).toMatchObject({ channels: ['c2'], defaultResolution: '1080p', dailyLimit: 0 });
    expect(describeSettings(s, 'this server')).toContain('• Channels: <#c2>');
    const cleared = await uc.admin(admin, server, { kind: 'default-resolution', resolution: undefined });
    expect(cleared.defaultResolution).toBeUndefined();
  });
});
