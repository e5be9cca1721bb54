/**
 * Discord end to end: the real bot process against the Discord stand-in and the
 * provider emulator, over loopback HTTP and WebSocket.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTACHMENT, BOOLEAN, IDS, INTEGER, MANAGE_MESSAGES, STRING, botMessages, createWorld, creates, image, videoFor } from './bot-world.js';
import type { World } from './bot-world.js';

const fixture = readFileSync(new URL('../fixtures/tiny.mp4', import.meta.url));
let w: World;

beforeAll(async () => {
  w = await createWorld();
  await w.startBot();
}, 60_000);
afterAll(async () => {
  await w?.close();
});

/** Runs /video and waits for the interaction reply (the progress message). */
async function video(options: unknown[], extra: Record<string, unknown> = {}) {
  const { id } = w.discord.slashCommand({ name: 'video', options, ...extra });
  const response = await w.discord.waitFor(() => w.discord.interactionResponses.get(id));
  return { id, response };
}

const lastBody = () => w.emulator.requests.filter((r) => r.method === 'POST').at(-1)?.body as Record<string, unknown>;

describe('/video', () => {
  it('answers at once, edits a progress message through the channel API and posts the MP4 as a reply', async () => {
    const before = creates(w);
    const { response } = await video([{ name: 'prompt', type: STRING, value: 'a fox running through snow' }, { name: 'seed', type: INTEGER, value: 4242 }]);
    expect(response.type).toBe(4);
    const progressId = response.messageId!;
    const progress = w.discord.messages.get(progressId)!;
    expect(progress.history[0]!.content).toContain('Starting');

    const vid = await w.discord.waitFor(() => videoFor(w, progressId), 20_000);
    expect(creates(w)).toBe(before + 1);
    expect(lastBody()).toMatchObject({ model: 'bytedance/seedance-1-0-lite-t2v', prompt: 'a fox running through snow', seed: 4242, resolution: '720p', duration: 5 });
    // The MP4 itself, with a caption that can reproduce it and the buttons.
    expect(vid.attachments).toHaveLength(1);
    expect(vid.attachments[0]!.data.equals(fixture)).toBe(true);
    expect(vid.content).toContain('seed `4242`');
    expect(vid.content).toContain(`<@${IDS.alice}>`);
    const ids = JSON.stringify(vid.components);
    for (const action of ['reroll', 'again', 'extend', 'delete']) expect(ids).toContain(`sd:${action}:`);
    expect(vid.nonce).toBeDefined();

    // Progress went through PATCH /channels/{c}/messages/{m} with the bot token, never the interaction webhook.
    const edits = w.discord.calls.filter((c) => c.method === 'PATCH' && c.path === `/channels/${IDS.general}/messages/${progressId}`);
    expect(edits.length).toBeGreaterThanOrEqual(2);
    expect(edits.every((c) => c.auth?.startsWith('Bot '))).toBe(true);
    expect(w.discord.calls.some((c) => c.path.startsWith('/webhooks/') && c.method === 'PATCH')).toBe(false);
    await w.discord.waitFor(() => w.discord.messages.get(progressId)!.content.includes('✅ Done'));
    const shown = w.discord.messages.get(progressId)!.history.map((h) => h.content);
    expect(shown.some((c) => /🎬|📨/.test(c))).toBe(true);
    expect(w.discord.messages.get(progressId)!.components).toEqual([]);
  });

  it('refuses invalid combinations privately and submits nothing', async () => {
    const before = creates(w);
    const cases: [unknown[], unknown[] | undefined, string][] = [
      [[{ name: 'prompt', type: STRING, value: 'x' }, { name: 'image', type: ATTACHMENT }, { name: 'aspect_ratio', type: STRING, value: '9:16' }], [image()], 'aspect ratio is decided by the image'],
      [[{ name: 'prompt', type: STRING, value: 'x' }, { name: 'image', type: ATTACHMENT }], [image('tiny.png', { width: 120, height: 90 })], 'each side must be 300–6000 px'],
      [[{ name: 'prompt', type: STRING, value: 'x' }, { name: 'image', type: ATTACHMENT }], [image('doc.pdf', { contentType: 'application/pdf' })], 'must be an image'],
      [[{ name: 'prompt', type: STRING, value: 'x' }, { name: 'image', type: ATTACHMENT }], [image('cat.png', { url: 'https://example.com/cat.png' })], 'must be uploaded to Discord'],
      [[{ name: 'prompt', type: STRING, value: 'x' }, { name: 'last_frame', type: ATTACHMENT }], [image()], 'a last frame needs a first frame'],
      [[{ name: 'prompt', type: STRING, value: 'x' }, { name: 'duration', type: INTEGER, value: 7 }], undefined, 'lite makes 5 or 10 s clips'],
    ];
    for (const [options, attachments, message] of cases) {
      const { response } = await video(options, attachments ? { attachments } : {});
      expect(response.type).toBe(4);
      const data = response.data as { content: string; flags: number };
      expect(data.flags & 64).toBe(64);
      expect(data.content).toContain(message);
    }
    expect(creates(w)).toBe(before);
  });

  it('animates an attached image with image-to-video from the Discord CDN link', async () => {
    const { response } = await video([
      { name: 'prompt', type: STRING, value: 'she waves' },
      { name: 'image', type: ATTACHMENT },
      { name: 'model', type: STRING, value: 'pro' },
      { name: 'fixed_camera', type: BOOLEAN, value: true },
    ], { attachments: [image('portrait.png')] });
    await w.discord.waitFor(() => videoFor(w, response.messageId!), 20_000);
    expect(lastBody()).toMatchObject({ model: 'bytedance/seedance-1-0-pro-i2v', camerafixed: true, image_url: expect.stringMatching(/^https:\/\/cdn\.discordapp\.com\/.+portrait\.png/) });
    expect(lastBody()).not.toHaveProperty('aspect_ratio');
  });

  it('links instead of uploading when the file is over the interaction\'s upload limit', async () => {
    const { response } = await video([{ name: 'prompt', type: STRING, value: 'big one' }], { attachmentSizeLimit: 1000 });
    const link = await w.discord.waitFor(
      () => [...w.discord.messages.values()].find((m) => m.messageReference?.message_id === response.messageId && m.content.includes('too large to attach')),
      20_000,
    );
    expect(link.attachments).toHaveLength(0);
    expect(link.content).toContain(`${w.emulator.aimlapiUrl}/cdn/`);
    expect(link.content).toMatch(/link expires <t:\d+:R>/);
  });
});

describe('Apps > Animate and messages', () => {
  it('opens a prefilled prompt form from any message with an image and animates it', async () => {
    const { id, targetId } = w.discord.messageCommand({ name: 'Animate', target: { content: 'my dog at the beach', authorId: IDS.bob, attachments: [image('dog.jpg', { contentType: 'image/jpeg' })] } });
    const modal = await w.discord.waitFor(() => w.discord.interactionResponses.get(id));
    expect(modal.type).toBe(9);
    const data = modal.data as { custom_id: string; components: { components: { value?: string }[] }[] };
    expect(data.components[0]!.components[0]!.value).toBe('my dog at the beach');
    expect(targetId).toBeDefined();

    const before = creates(w);
    const submit = w.discord.submitModal({ customId: data.custom_id, fields: { prompt: 'the dog shakes off water' } });
    const reply = await w.discord.waitFor(() => w.discord.interactionResponses.get(submit.id));
    await w.discord.waitFor(() => videoFor(w, reply.messageId!), 20_000);
    expect(creates(w)).toBe(before + 1);
    expect(lastBody()).toMatchObject({ model: 'bytedance/seedance-1-0-lite-i2v', prompt: 'the dog shakes off water', image_url: expect.stringContaining('dog.jpg') });
  });

  it('says so when the target message has no image', async () => {
    const { id } = w.discord.messageCommand({ name: 'Animate', target: { content: 'just words' } });
    const r = await w.discord.waitFor(() => w.discord.interactionResponses.get(id));
    expect(r.type).toBe(4);
    expect((r.data as { content: string }).content).toContain('That message has no image to animate.');
  });

  it('takes a mention with an image and inline flags, replying with progress and the video', async () => {
    const before = creates(w);
    const msg = w.discord.userMessage({ content: 'make it rain --pro --seed 42 --fixed', mentionBot: true, attachments: [image('street.png')] });
    const progress = await w.discord.waitFor(() => botMessages(w).find((m) => m.messageReference?.message_id === msg.id));
    await w.discord.waitFor(() => videoFor(w, progress.id), 20_000);
    expect(creates(w)).toBe(before + 1);
    expect(lastBody()).toMatchObject({ model: 'bytedance/seedance-1-0-pro-i2v', prompt: 'make it rain', seed: 42, camerafixed: true });
  });

  it('continues from a finished video when someone replies to it without an image', async () => {
    const { response } = await video([{ name: 'prompt', type: STRING, value: 'a paper boat on a stream' }, { name: 'aspect_ratio', type: STRING, value: '9:16' }]);
    const first = await w.discord.waitFor(() => videoFor(w, response.messageId!), 20_000);
    // Reply once the bot has finished delivering (as a person would, seconds later).
    await w.discord.waitFor(() => w.discord.messages.get(response.messageId!)!.content.includes('✅ Done'));
    const reply = w.discord.userMessage({ content: 'now at night --seed 7', mentionBot: true, referenceId: first.id });
    const progress = await w.discord.waitFor(() => botMessages(w).find((m) => m.messageReference?.message_id === reply.id));
    await w.discord.waitFor(() => videoFor(w, progress.id), 20_000);
    expect(lastBody()).toMatchObject({ prompt: 'now at night', aspect_ratio: '9:16', seed: 7, model: 'bytedance/seedance-1-0-lite-t2v' });
  });

  it('answers bad inline flags with the reason and submits nothing', async () => {
    const before = creates(w);
    const msg = w.discord.userMessage({ content: 'x --turbo', mentionBot: true });
    const answer = await w.discord.waitFor(() => botMessages(w).find((m) => m.messageReference?.message_id === msg.id));
    expect(answer.content).toContain('unknown option --turbo');
    expect(creates(w)).toBe(before);
  });

  it('works in DMs', async () => {
    const { response } = await video([{ name: 'prompt', type: STRING, value: 'dm video' }], { guildId: null });
    const dmChannel = w.discord.messages.get(response.messageId!)!.channelId;
    const vid = await w.discord.waitFor(() => videoFor(w, response.messageId!), 20_000);
    expect(vid.channelId).toBe(dmChannel);
  });
});

describe('buttons', () => {
  it('re-rolls with a new seed and lets only the requester or a moderator delete', async () => {
    const { response } = await video([{ name: 'prompt', type: STRING, value: 'lighthouse in a storm' }, { name: 'seed', type: INTEGER, value: 1 }]);
    const vid = await w.discord.waitFor(() => videoFor(w, response.messageId!), 20_000);
    const jobId = /sd:reroll:([\w-]+)/.exec(JSON.stringify(vid.components))![1]!;

    const reroll = w.discord.clickButton({ messageId: vid.id, customId: `sd:reroll:${jobId}` });
    const rr = await w.discord.waitFor(() => w.discord.interactionResponses.get(reroll.id));
    await w.discord.waitFor(() => videoFor(w, rr.messageId!), 20_000);
    expect(lastBody()).toMatchObject({ prompt: 'lighthouse in a storm' });
    expect(lastBody().seed).not.toBe(1);

    const bob = w.discord.clickButton({ messageId: vid.id, customId: `sd:delete:${jobId}`, userId: IDS.bob });
    const refused = await w.discord.waitFor(() => w.discord.interactionResponses.get(bob.id));
    expect((refused.data as { content: string; flags: number }).content).toContain('Only the person who asked');
    expect(w.discord.messages.get(vid.id)!.deleted).toBe(false);

    const mod = w.discord.clickButton({ messageId: vid.id, customId: `sd:delete:${jobId}`, userId: IDS.bob, permissions: MANAGE_MESSAGES });
    const ack = await w.discord.waitFor(() => w.discord.interactionResponses.get(mod.id));
    expect(ack.type).toBe(5);
    await w.discord.waitFor(() => w.discord.messages.get(vid.id)!.deleted);
    await w.discord.waitFor(() => w.discord.messages.get(ack.messageId!)?.content === 'Deleted.');
  });

  it('opens "Animate again" with the old prompt and makes a new take', async () => {
    const { response } = await video([{ name: 'prompt', type: STRING, value: 'a kite over dunes' }]);
    const vid = await w.discord.waitFor(() => videoFor(w, response.messageId!), 20_000);
    const jobId = /sd:again:([\w-]+)/.exec(JSON.stringify(vid.components))![1]!;
    const click = w.discord.clickButton({ messageId: vid.id, customId: `sd:again:${jobId}` });
    const modal = await w.discord.waitFor(() => w.discord.interactionResponses.get(click.id));
    expect(modal.type).toBe(9);
    const data = modal.data as { custom_id: string; components: { components: { value?: string }[] }[] };
    expect(data.components[0]!.components[0]!.value).toBe('a kite over dunes');
    const submit = w.discord.submitModal({ customId: data.custom_id, fields: { prompt: 'two kites over dunes' } });
    const r = await w.discord.waitFor(() => w.discord.interactionResponses.get(submit.id));
    await w.discord.waitFor(() => videoFor(w, r.messageId!), 20_000);
    expect(lastBody()).toMatchObject({ prompt: 'two kites over dunes' });
  });
});
