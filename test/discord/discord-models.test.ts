/**
 * Discord end to end with the newer models: /video's duration range, sound, 4k and
 * reference images, and several images on a mention or Apps > Animate, each reaching
 * the AIML create body under the name its schema gives it. Invalid combinations are
 * refused privately with the reason, and no create request reaches the emulator.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ATTACHMENT, BOOLEAN, INTEGER, STRING, botMessages, createWorld, creates, image, videoFor } from './bot-world.js';
import type { World } from './bot-world.js';
import type { StandinMessage } from './standin/discord-standin.js';

let w: World;
beforeAll(async () => {
  w = await createWorld();
  await w.startBot();
}, 60_000);
afterAll(async () => {
  await w?.close();
});

const isVideo = (m: StandinMessage) => m.authorId === w.discord.botUserId && m.attachments.some((a) => a.filename.endsWith('.mp4'));
/** Every create so far has been delivered, so nothing from one test is still running in the next. */
afterEach(async () => {
  await w.discord.waitFor(() => [...w.discord.messages.values()].filter(isVideo).length >= creates(w), 30_000);
}, 35_000);

/** The AIML create bodies the emulator accepted, oldest first. */
const accepted = () => w.emulator.requests.filter((r) => r.method === 'POST' && r.path.startsWith('/v2/video/generations') && r.status < 300).map((r) => r.body as Record<string, unknown>);
const lastBody = () => accepted().at(-1)!;
const opt = (name: string, type: number, value?: unknown) => ({ name, type, ...(value !== undefined ? { value } : {}) });
const CDN = /^https:\/\/cdn\.discordapp\.com\/attachments\//;

/** Runs /video and waits for its answer; `done` waits for the video too. */
async function video(options: unknown[], attachments?: ReturnType<typeof image>[]) {
  const { id } = w.discord.slashCommand({ name: 'video', options, ...(attachments ? { attachments } : {}) });
  return w.discord.waitFor(() => w.discord.interactionResponses.get(id));
}
async function done(options: unknown[], attachments?: ReturnType<typeof image>[]) {
  const response = await video(options, attachments);
  return w.discord.waitFor(() => videoFor(w, response.messageId!), 20_000);
}

describe('/video with the newer models', () => {
  it('2.0 for 12 s, silent, with two reference images: duration, generate_audio and image_urls', async () => {
    const before = creates(w);
    const vid = await done(
      [
        opt('prompt', STRING, '@Image1 hands @Image2 a cup'),
        opt('model', STRING, '2.0'),
        opt('duration', INTEGER, 12),
        opt('audio', BOOLEAN, false),
        opt('reference_1', ATTACHMENT),
        opt('reference_2', ATTACHMENT),
      ],
      [image('alice.png'), image('cup.png')],
    );
    expect(creates(w)).toBe(before + 1);
    const body = lastBody();
    expect(body).toMatchObject({ model: 'bytedance/seedance-2-0', prompt: '@Image1 hands @Image2 a cup', duration: 12, generate_audio: false, resolution: '720p' });
    expect(body.image_urls).toEqual([expect.stringMatching(/alice\.png/), expect.stringMatching(/cup\.png/)]);
    expect((body.image_urls as string[]).every((u) => CDN.test(u))).toBe(true);
    expect(body).not.toHaveProperty('image_url');
    // 2.x has no camera flag: the body carries none.
    expect(body).not.toHaveProperty('camerafixed');
    expect(body).not.toHaveProperty('camera_fixed');
    expect(vid.content).toContain('**2.0** · 720p · 12s');
    expect(vid.content).toContain('no sound');
    expect(vid.content).toContain('2 references');
  });

  it('1.5-pro with a fixed camera sends camera_fixed, and sound on by default', async () => {
    await done([opt('prompt', STRING, 'a lighthouse at dusk'), opt('model', STRING, '1.5-pro'), opt('fixed_camera', BOOLEAN, true)]);
    const body = lastBody();
    expect(body).toMatchObject({ model: 'bytedance/seedance-1-5-pro', camera_fixed: true, generate_audio: true });
    expect(body).not.toHaveProperty('camerafixed');
  });

  it('2.0 at 4k with a first frame', async () => {
    await done([opt('prompt', STRING, 'she turns'), opt('model', STRING, '2.0'), opt('resolution', STRING, '4k'), opt('image', ATTACHMENT)], [image('portrait.png')]);
    expect(lastBody()).toMatchObject({ model: 'bytedance/seedance-2-0', resolution: '4k', image_url: expect.stringMatching(/portrait\.png/) });
    expect(lastBody()).not.toHaveProperty('image_urls');
  });

  it('refuses invalid combinations privately with the specific reason and submits nothing', async () => {
    const before = creates(w);
    const cases: [unknown[], ReturnType<typeof image>[] | undefined, string][] = [
      [[opt('prompt', STRING, 'x'), opt('model', STRING, '2.0-fast'), opt('resolution', STRING, '1080p')], undefined, '2.0-fast renders at most 720p'],
      [[opt('prompt', STRING, 'x'), opt('model', STRING, 'lite'), opt('audio', BOOLEAN, true)], undefined, 'lite makes no sound; 1.5-pro, 2.0, 2.0-fast, 2.0-mini, 2.5 or 2.5-dreamina do'],
      [[opt('prompt', STRING, 'x'), opt('model', STRING, '2.0'), opt('duration', INTEGER, 20)], undefined, '2.0 makes 4 to 15 s clips'],
      [[opt('prompt', STRING, 'x'), opt('model', STRING, 'pro'), opt('reference_1', ATTACHMENT)], [image()], 'pro takes no reference images; 2.0, 2.0-fast, 2.0-mini, 2.5 or 2.5-dreamina do'],
      [
        [opt('prompt', STRING, 'x'), opt('model', STRING, '2.0'), opt('image', ATTACHMENT), opt('reference_1', ATTACHMENT)],
        [image('first.png'), image('ref.png')],
        'reference images and videos replace the first and last frame; give one or the other',
      ],
      // Each reference is checked like a first frame, from what Discord declares, before anything is spent.
      [[opt('prompt', STRING, 'x'), opt('model', STRING, '2.0'), opt('reference_1', ATTACHMENT)], [image('tiny.png', { width: 120, height: 90 })], 'reference image: the image is 120x90 px'],
      [[opt('prompt', STRING, 'x'), opt('model', STRING, '2.0'), opt('reference_1', ATTACHMENT)], [image('doc.pdf', { contentType: 'application/pdf' })], 'the reference image 1 must be an image'],
      [[opt('prompt', STRING, 'x'), opt('model', STRING, '2.0'), opt('reference_2', ATTACHMENT)], [image()], "reference_2 is set but reference_1 isn't"],
      [[opt('prompt', STRING, '@Image1 and @Image3'), opt('model', STRING, '2.0'), opt('reference_1', ATTACHMENT), opt('reference_2', ATTACHMENT)], [image('a.png'), image('b.png')], 'the prompt names @Image3, but only 2 reference images were given'],
    ];
    for (const [options, attachments, message] of cases) {
      const response = await video(options, attachments);
      expect(response.type).toBe(4);
      const data = response.data as { content: string; flags: number };
      expect(data.flags & 64).toBe(64);
      expect(data.content).toContain(message);
    }
    expect(creates(w)).toBe(before);
  });
});

describe('several images on a message', () => {
  it('a mention with three images on --2.0 uses them as reference images, in order', async () => {
    const msg = w.discord.userMessage({ content: '@Image1, @Image2 and @Image3 have a picnic --2.0 --duration 8 --mute', mentionBot: true, attachments: [image('a.png'), image('b.png'), image('c.png')] });
    const progress = await w.discord.waitFor(() => botMessages(w).find((m) => m.messageReference?.message_id === msg.id));
    await w.discord.waitFor(() => videoFor(w, progress.id), 20_000);
    const body = lastBody();
    expect(body).toMatchObject({ model: 'bytedance/seedance-2-0', prompt: '@Image1, @Image2 and @Image3 have a picnic', duration: 8, generate_audio: false });
    expect(body.image_urls).toEqual([expect.stringMatching(/a\.png/), expect.stringMatching(/b\.png/), expect.stringMatching(/c\.png/)]);
    expect(body).not.toHaveProperty('image_url');
  });

  it('a mention with one image on --2.0 keeps it as the first frame', async () => {
    const msg = w.discord.userMessage({ content: 'she waves --2.0 --4k', mentionBot: true, attachments: [image('one.png')] });
    const progress = await w.discord.waitFor(() => botMessages(w).find((m) => m.messageReference?.message_id === msg.id));
    await w.discord.waitFor(() => videoFor(w, progress.id), 20_000);
    expect(lastBody()).toMatchObject({ model: 'bytedance/seedance-2-0', resolution: '4k', image_url: expect.stringMatching(/one\.png/) });
    expect(lastBody()).not.toHaveProperty('image_urls');
  });

  it('several images on a model without references: says which models take them, submits nothing', async () => {
    const before = creates(w);
    const msg = w.discord.userMessage({ content: 'make them dance', mentionBot: true, attachments: [image('a.png'), image('b.png')] });
    const answer = await w.discord.waitFor(() => botMessages(w).find((m) => m.messageReference?.message_id === msg.id));
    expect(answer.content).toContain('lite takes no reference images; 2.0, 2.0-fast, 2.0-mini, 2.5 or 2.5-dreamina do');
    expect(creates(w)).toBe(before);
  });

  it('Apps > Animate on a message with two images: references, with the model picked by a flag in the form', async () => {
    const { id } = w.discord.messageCommand({ name: 'Animate', target: { content: 'two friends', attachments: [image('left.png'), image('right.png')] } });
    const modal = await w.discord.waitFor(() => w.discord.interactionResponses.get(id));
    expect(modal.type).toBe(9);
    const data = modal.data as { custom_id: string; title: string };
    expect(data.title).toBe('Animate with these images');
    const submit = w.discord.submitModal({ customId: data.custom_id, fields: { prompt: '@Image1 high-fives @Image2 --2.5 --duration 20' } });
    const reply = await w.discord.waitFor(() => w.discord.interactionResponses.get(submit.id));
    await w.discord.waitFor(() => videoFor(w, reply.messageId!), 20_000);
    const body = lastBody();
    expect(body).toMatchObject({ model: 'bytedance/seedance-2-5', prompt: '@Image1 high-fives @Image2', duration: 20, generate_audio: true });
    expect(body.image_urls).toEqual([expect.stringMatching(/left\.png/), expect.stringMatching(/right\.png/)]);
  });
});
