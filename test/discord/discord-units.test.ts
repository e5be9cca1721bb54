import { describe, expect, it } from 'vitest';
import { UserFacingError } from '../../src/core/errors.js';
import { imageFromAttachment, firstImage, messageImages, referenceOptions } from '../../src/surfaces/discord/discord-input.js';
import { bar, progressText, renderMessage } from '../../src/surfaces/discord/discord-format.js';
import { buttonId, channelRef, dmRef, hookRef, isHookRef, messageRef, parseButtonId, parseRef } from '../../src/surfaces/discord/discord-refs.js';
import { reachOf } from '../../src/surfaces/discord/discord-reach.js';
import { discordCommands } from '../../commands/discord-commands.js';
import { createCatalogue } from '../../src/core/catalogue.js';
import { BUILTIN_MODELS } from '../../src/providers/index.js';
import { discordIntents } from '../../src/surfaces/discord/discord-bot.js';
import { GatewayIntentBits } from 'discord.js';
import { sampleMessages } from '../surfaces/chat-surface-contract.js';

const hosts = ['cdn.discordapp.com', 'media.discordapp.net'];
const att = { url: 'https://cdn.discordapp.com/attachments/1/2/cat.png', name: 'cat.png', contentType: 'image/png', size: 1000, width: 800, height: 600 };

describe('Discord references', () => {
  it('round-trip conversations, messages and DMs', () => {
    expect(parseRef(channelRef('123'))).toEqual({ channelId: '123' });
    expect(parseRef(channelRef('123', '456'))).toEqual({ channelId: '123', messageId: '456' });
    expect(parseRef(messageRef('1', '2'))).toEqual({ channelId: '1', messageId: '2' });
    expect(parseRef(dmRef('99'))).toEqual({ dmUserId: '99' });
    expect(() => parseRef('slack:T:C')).toThrow();
    expect(parseRef(dmRef('99', 'expired'))).toEqual({ dmUserId: '99', dmReason: 'expired' });
  });
  it('round-trip interaction webhooks, with a token that needs escaping', () => {
    const hook = { appId: '900', token: 'aW50:c2Vj/ret+x', expiresAt: 1_700_000_000_123, userId: '700' };
    const conversation = hookRef(hook);
    expect(conversation).toBe(`discord:hook:900:${encodeURIComponent(hook.token)}:1700000000123:700`);
    expect(isHookRef(conversation)).toBe(true);
    expect(parseRef(conversation)).toEqual({ hook });
    expect(parseRef(hookRef({ ...hook, messageId: '@original' }))).toEqual({ hook: { ...hook, messageId: '@original' } });
    expect(parseRef(hookRef({ ...hook, messageId: '123' })).hook!.messageId).toBe('123');
    expect(() => parseRef('discord:hook:900')).toThrow();
    expect(() => parseRef('discord:hook:900:tok:soon:700')).toThrow();
  });
  it('encode button actions with the job id', () => {
    const id = buttonId('reroll', '3f1c2a9e-0000-4000-8000-000000000000');
    expect(id.length).toBeLessThanOrEqual(100);
    expect(parseButtonId(id)).toEqual({ action: 'reroll', jobId: '3f1c2a9e-0000-4000-8000-000000000000' });
    expect(parseButtonId('sd:explode:1')).toBeUndefined();
  });
});

describe('Discord reach: the channel API, or the interaction webhook', () => {
  const all = (1n << 10n) | (1n << 11n) | (1n << 15n) | (1n << 38n);
  const facts = { context: 0, guildId: 'g', guildInstall: 'g', appPermissions: all, inThread: false };
  it('uses the channel API where the server installed the bot and it may view, send and attach', () => {
    expect(reachOf(facts)).toEqual({ via: 'channel' });
    expect(reachOf({ ...facts, inThread: true, appPermissions: all & ~(1n << 11n) })).toEqual({ via: 'channel' });
    // The bot's own DM: always its channel, whatever app_permissions says there.
    expect(reachOf({ ...facts, context: 1, guildId: null, guildInstall: '0', appPermissions: 1n << 15n })).toEqual({ via: 'channel' });
    expect(reachOf({ ...facts, context: 1, guildId: null, guildInstall: null, appPermissions: 0n })).toEqual({ via: 'channel' });
  });
  it('uses the webhook for user installs, private channels and missing permissions', () => {
    expect(reachOf({ ...facts, guildInstall: null })).toEqual({ via: 'webhook', reason: 'user install' });
    expect(reachOf({ ...facts, guildInstall: 'other' })).toEqual({ via: 'webhook', reason: 'user install' });
    expect(reachOf({ ...facts, context: 2, guildId: null, guildInstall: null })).toEqual({ via: 'webhook', reason: 'private channel' });
    for (const missing of [10n, 11n, 15n]) {
      expect(reachOf({ ...facts, appPermissions: all & ~(1n << missing) })).toEqual({ via: 'webhook', reason: 'missing permissions' });
    }
    expect(reachOf({ ...facts, inThread: true, appPermissions: all & ~(1n << 38n) })).toEqual({ via: 'webhook', reason: 'missing permissions' });
  });
});

describe('Discord command installs', () => {
  const cat = createCatalogue(BUILTIN_MODELS, { providers: ['aimlapi'] });
  const installs = (allowDms: boolean) => Object.fromEntries(discordCommands(cat, { allowDms }).map((c) => [c.name, [c.integration_types, c.contexts]]));
  it('offers /video, Animate and /video-usage to server and user installs; DMs and private channels only with DMs on', () => {
    expect(installs(true)).toEqual({ video: [[0, 1], [0, 1, 2]], Animate: [[0, 1], [0, 1, 2]], 'video-usage': [[0, 1], [0, 1, 2]], 'video-admin': [[0], [0]] });
    expect(installs(false)).toEqual({ video: [[0, 1], [0]], Animate: [[0, 1], [0]], 'video-usage': [[0, 1], [0]], 'video-admin': [[0], [0]] });
  });
});

describe('/video options', () => {
  type Option = { type: number; name: string; required?: boolean; choices?: { value: unknown }[]; min_value?: number; max_value?: number };
  const optionsOf = (providers: string[]) => (discordCommands(createCatalogue(BUILTIN_MODELS, { providers }), { allowDms: false }).find((c) => c.name === 'video') as unknown as { options: Option[] }).options;
  const byName = (options: Option[]) => Object.fromEntries(options.map((o) => [o.name, o]));

  it('stays within Discord\'s 25 options with the required one first, and offers every new option', () => {
    const options = optionsOf(['aimlapi', 'segmind']);
    expect(options.length).toBeLessThanOrEqual(25);
    expect(options.every((o) => (o.choices?.length ?? 0) <= 25)).toBe(true);
    const firstOptional = options.findIndex((o) => !o.required);
    expect(options.slice(firstOptional).some((o) => o.required)).toBe(false);
    const o = byName(options);
    expect(o.prompt!.required).toBe(true);
    // Lengths up to 30 s: a range, each model's own checked by validation.
    expect(o.duration).toMatchObject({ type: 4, min_value: 4, max_value: 30 });
    expect(o.duration!.choices).toBeUndefined();
    expect(o.resolution!.choices!.map((c) => c.value)).toEqual(['480p', '720p', '1080p', '4k']);
    expect(o.model!.choices!.map((c) => c.value)).toEqual(expect.arrayContaining(['lite', 'pro', '1.5-pro', '2.0', '2.0-fast', '2.5']));
    // Each choice says what the model makes, within Discord's 100 characters.
    const names = Object.fromEntries((o.model!.choices as { name: string; value: string }[]).map((c) => [c.value, c.name]));
    expect(names['2.5']).toBe('2.5 · up to 720p · 4 to 30 s · sound · references');
    expect(names['2.0']).toBe('2.0 · up to 4k · 4 to 15 s · sound · references');
    expect(names['lite']).toBe('lite · up to 1080p · 5 or 10 s');
    expect(Object.values(names).every((n) => n.length <= 100)).toBe(true);
    expect(o.audio).toMatchObject({ type: 5 });
    expect(options.filter((x) => x.name.startsWith('reference_')).map((x) => [x.name, x.type])).toEqual([['reference_1', 11], ['reference_2', 11], ['reference_3', 11]]);
  });

  it('offers sound and references only where a model takes them', () => {
    const o = byName(optionsOf(['segmind']));
    expect(o.audio).toBeUndefined();
    expect(Object.keys(o).filter((n) => n.startsWith('reference_'))).toEqual([]);
    expect(o.duration).toMatchObject({ min_value: 5, max_value: 10 });
    expect(o.resolution!.choices!.map((c) => c.value)).toEqual(['480p', '720p']);
  });
});

describe('Discord images', () => {
  it('takes declared facts from Discord CDN attachments without downloading', () => {
    expect(imageFromAttachment(att, 'image', hosts)).toEqual({ kind: 'url', url: att.url, name: 'cat.png', mime: 'image/png', bytes: 1000, width: 800, height: 600 });
  });
  it('refuses other hosts and non-images', () => {
    expect(() => imageFromAttachment({ ...att, url: 'https://evil.example/cat.png' }, 'image', hosts)).toThrow(new UserFacingError('bad_image', 'the image must be uploaded to Discord (got a link to evil.example)'));
    expect(() => imageFromAttachment({ ...att, contentType: 'video/mp4', name: 'a.mp4' }, 'image', hosts)).toThrow('must be an image');
  });
  it('turns one message image into the first frame and several into reference images', () => {
    const withRefs = { maxReferenceImages: () => 9 };
    const two = [att, { ...att, url: 'https://cdn.discordapp.com/attachments/1/3/dog.png', name: 'dog.png' }];
    expect(messageImages([att], withRefs, hosts)).toEqual({ image: expect.objectContaining({ url: att.url }) });
    expect(messageImages(two, withRefs, hosts)).toEqual({ references: [expect.objectContaining({ name: 'cat.png' }), expect.objectContaining({ name: 'dog.png' })] });
    // Where no model takes references, the first image is the first frame, as before.
    expect(messageImages(two, { maxReferenceImages: () => 0 }, hosts)).toEqual({ image: expect.objectContaining({ name: 'cat.png' }) });
    expect(() => messageImages([att, { ...att, url: 'https://evil.example/x.png' }], withRefs, hosts)).toThrow('the reference image 2 must be uploaded to Discord');
  });
  it('reads reference_1… in order and refuses a gap', () => {
    const given = (names: string[]) => ({ options: { getAttachment: (n: string) => (names.includes(n) ? { ...att, name: `${n}.png` } : null) } });
    expect(referenceOptions(given([]), hosts)).toEqual({});
    expect(referenceOptions(given(['reference_1', 'reference_2']), hosts).references!.map((r) => (r as { name?: string }).name)).toEqual(['reference_1.png', 'reference_2.png']);
    expect(() => referenceOptions(given(['reference_1', 'reference_3']), hosts)).toThrow("reference_3 is set but reference_2 isn't");
  });
  it('finds the first image among attachments, by type or by file name', () => {
    expect(firstImage([{ url: 'https://cdn.discordapp.com/a/b/notes.txt', contentType: 'text/plain' }, att])).toBe(att);
    expect(firstImage([{ url: 'https://cdn.discordapp.com/a/b/x.JPG?ex=1' }])).toBeDefined();
    expect(firstImage([{ url: 'https://cdn.discordapp.com/a/b/x.pdf' }])).toBeUndefined();
  });
});

describe('Discord formatting', () => {
  it('shows a progress bar, status, elapsed and remaining, with a Cancel button', () => {
    const p = renderMessage(sampleMessages.progress);
    expect(p.content).toContain('🎬 **Rendering** · 25%');
    expect(p.content).toContain('0:12 elapsed · ~0:30 left');
    expect(p.content).toContain('> a fox running through snow');
    expect(JSON.stringify(p.components)).toContain('sd:cancel:job-1');
    expect(bar(50, 10)).toBe('█████░░░░░');
    expect(progressText({ jobId: 'j', phase: 'queued', queuePosition: 3, elapsedSeconds: 4 })).toBe('⏳ **Waiting for a free slot** · #3 in the queue · 0:04 elapsed');
  });
  it('captions a video with everything needed to reproduce it, and offers the buttons', () => {
    const v = renderMessage(sampleMessages.video);
    expect(v.content).toContain('**lite** · 720p · 5s · 16:9 · seed `4242` · 120,000 credits · for <@u1>');
    const ids = JSON.stringify(v.components);
    for (const a of ['reroll', 'again', 'delete']) expect(ids).toContain(`sd:${a}:job-1`);
    expect(v.allowed_mentions).toEqual({ parse: [], users: ['u1'] });
  });
  it('explains a link fallback with the size, the limit and when the link expires', () => {
    const l = renderMessage(sampleMessages.link);
    expect(l.content).toContain('The video (20.0 MB, over the 10.0 MB upload limit here) is too large to attach. Download it here: https://cdn.example/v.mp4');
    expect(l.content).toContain(`<t:${Date.UTC(2030, 0, 1) / 1000}:R>`);
  });
  it('drops the buttons once a job has ended', () => {
    expect(renderMessage(sampleMessages.failed).components).toEqual([]);
    expect(renderMessage(sampleMessages.done).content).toContain('✅ Done in 0:52');
  });
});

describe('Discord intents', () => {
  it('does not ask for the privileged Message Content intent unless configured', () => {
    expect(discordIntents(false)).not.toContain(GatewayIntentBits.MessageContent);
    expect(discordIntents(true)).toContain(GatewayIntentBits.MessageContent);
    expect(discordIntents(false)).toEqual(expect.arrayContaining([GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.DirectMessages]));
  });
});

