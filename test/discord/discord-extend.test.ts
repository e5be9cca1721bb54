/**
 * Extend on Discord, end to end: the button on a delivered video opens a form,
 * and the new clip starts from that video's last frame (grabbed by the bot with
 * the real ffmpeg), with the same model and settings, in the same thread. On a
 * model that takes reference videos the whole clip can be the reference instead.
 * The emulator serves a 640x360 clip that turns from blue to red, so the frame
 * sent must be red.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeImage } from '../../src/core/image-probe.js';
import { PROMPT_MAX_CHARS } from '../../src/core/request.js';
import { IDS, INTEGER, STRING, botMessages, createWorld, creates, videoFor } from './bot-world.js';
import type { World } from './bot-world.js';

const FIXTURE = new URL('../fixtures/blue-red-640x360.mp4', import.meta.url);
const MANAGE_GUILD = String(1 << 5);
let w: World;

beforeAll(async () => {
  w = await createWorld({ videoBytes: readFileSync(FIXTURE) });
  await w.startBot({ DISCORD_THREAD_PER_VIDEO: 'true' });
}, 60_000);
afterAll(async () => {
  await w?.close();
});

type Obj = Record<string, unknown>;
const createBodies = () => w.emulator.requests.filter((r) => r.kind === 'create').map((r) => r.body as Obj);
const framePath = (jobId: string) => join(w.dataDir, 'frames', `${jobId}.jpg`);
const ephemeral = (r: { data?: unknown }) => (((r.data as { flags?: number }).flags ?? 0) & 64) === 64;
const contentOf = (r: { data?: unknown }) => String((r.data as { content?: string }).content ?? '');

/** Runs /video and waits until the video is in its thread, delivered, and its last frame kept. */
async function deliveredVideo(options: unknown[]) {
  const { id } = w.discord.slashCommand({ name: 'video', options });
  const reply = await w.discord.waitFor(() => w.discord.interactionResponses.get(id));
  const thread = await w.discord.waitFor(() => w.discord.channels.get(reply.messageId!));
  const video = await w.discord.waitFor(() => botMessages(w, thread.id).find((m) => JSON.stringify(m.components).includes('sd:extend:')), 20_000);
  const jobId = /sd:extend:([\w-]+)/.exec(JSON.stringify(video.components))![1]!;
  await w.discord.waitFor(() => w.discord.messages.get(reply.messageId!)!.content.includes('✅ Done'), 20_000);
  await w.discord.waitFor(() => existsSync(framePath(jobId)), 20_000);
  return { video, jobId, thread: thread.id };
}

/** Presses Extend; the modal Discord was asked to show. */
async function pressExtend(v: { video: { id: string }; jobId: string }, userId?: string) {
  const click = w.discord.clickButton({ messageId: v.video.id, customId: `sd:extend:${v.jobId}`, ...(userId ? { userId } : {}) });
  return w.discord.waitFor(() => w.discord.interactionResponses.get(click.id));
}

type Modal = { custom_id: string; title: string; components: { type: number; label: string; component: Obj & { custom_id: string } }[] };

/** The middle colour of a JPEG, decoded by ffmpeg: [r, g, b]. */
function colourOf(jpeg: Buffer): number[] {
  const rgb = execFileSync('ffmpeg', ['-v', 'error', '-f', 'image2pipe', '-i', 'pipe:0', '-vf', 'scale=1:1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { input: jpeg });
  return [...rgb.subarray(0, 3)];
}

describe('Extend', () => {
  it('submits the last frame: one create, the new prompt, the original model, resolution and length, in the same thread', async () => {
    const v = await deliveredVideo([
      { name: 'prompt', type: STRING, value: 'a fox in the snow' },
      { name: 'resolution', type: STRING, value: '480p' },
      { name: 'duration', type: INTEGER, value: 10 },
      { name: 'aspect_ratio', type: STRING, value: '9:16' },
      { name: 'seed', type: INTEGER, value: 42 },
    ]);
    const modal = await pressExtend(v);
    expect(modal.type).toBe(9);
    const data = modal.data as Modal;
    expect(data).toMatchObject({ custom_id: `sd:extend:${v.jobId}`, title: 'Extend this video' });
    // Lite takes no reference video: the prompt is all the form asks.
    expect(data.components).toHaveLength(1);
    expect(data.components[0]).toMatchObject({ type: 18, label: 'What happens next?', component: { type: 4, custom_id: 'prompt', style: 2, max_length: PROMPT_MAX_CHARS } });

    const before = createBodies().length;
    const submit = w.discord.submitModal({ customId: data.custom_id, fields: { prompt: 'the fox jumps' } });
    const reply = await w.discord.waitFor(() => w.discord.interactionResponses.get(submit.id));
    expect(reply.type).toBe(4);
    expect(ephemeral(reply)).toBe(false);
    // Progress and the new video in the original's thread.
    expect(w.discord.messages.get(reply.messageId!)!.channelId).toBe(v.thread);
    const next = await w.discord.waitFor(() => videoFor(w, reply.messageId!), 20_000);
    expect(next.channelId).toBe(v.thread);
    expect(next.content).toContain('the fox jumps');

    const bodies = createBodies().slice(before);
    expect(bodies).toHaveLength(1);
    const body = bodies[0]!;
    expect(body).toMatchObject({ model: 'bytedance/seedance-1-0-lite-i2v', prompt: 'the fox jumps', resolution: '480p', duration: 10 });
    expect(body).not.toHaveProperty('aspect_ratio');
    expect(body).not.toHaveProperty('last_image_url');
    expect(body.seed).not.toBe(42);
    // The first frame is the stored last frame, as a JPEG data URI at the video's own size.
    const m = /^data:image\/jpeg;base64,(.+)$/.exec(String(body.image_url));
    expect(m).not.toBeNull();
    const sent = Buffer.from(m![1]!, 'base64');
    expect(sent.equals(readFileSync(framePath(v.jobId)))).toBe(true);
    const [width, height] = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', FIXTURE.pathname]).toString().trim().split(',').map(Number);
    expect(probeImage(sent)).toMatchObject({ mime: 'image/jpeg', width, height });
    // The clip ends red: that is the frame that was sent, not its blue start.
    const [r, g, b] = colourOf(sent);
    expect(r).toBeGreaterThan(200);
    expect(g! + b!).toBeLessThan(60);

    // The extended clip can be re-rolled: it starts from the same kept frame (its own copy is gone with its job).
    const nextJob = /sd:reroll:([\w-]+)/.exec(JSON.stringify(next.components))![1]!;
    await w.discord.waitFor(() => w.discord.messages.get(reply.messageId!)!.content.includes('✅ Done'), 20_000);
    const reroll = w.discord.clickButton({ messageId: next.id, customId: `sd:reroll:${nextJob}` });
    await w.discord.waitFor(() => w.discord.interactionResponses.get(reroll.id));
    const again = await w.discord.waitFor(() => createBodies().slice(before + 1)[0], 20_000);
    expect(again).toMatchObject({ model: 'bytedance/seedance-1-0-lite-i2v', prompt: 'the fox jumps', resolution: '480p', duration: 10 });
    expect(again.image_url).toBe(body.image_url);
    expect(again.seed).not.toBe(body.seed);
    // The original's frame is still kept (the extended clip's end did not delete it).
    expect(existsSync(framePath(v.jobId))).toBe(true);
  });

  it('starts one job when the form submission is delivered twice', async () => {
    const v = await deliveredVideo([{ name: 'prompt', type: STRING, value: 'a kite on the beach' }]);
    const data = (await pressExtend(v)).data as Modal;
    const before = creates(w);
    const submit = w.discord.submitModal({ customId: data.custom_id, fields: { prompt: 'the kite climbs' } });
    const reply = await w.discord.waitFor(() => w.discord.interactionResponses.get(submit.id));
    w.discord.redeliverInteraction(submit.id);
    await w.discord.waitFor(() => videoFor(w, reply.messageId!), 20_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(creates(w)).toBe(before + 1);
    expect(botMessages(w, v.thread).filter((m) => m.content.includes('the kite climbs') && m.attachments.length > 0)).toHaveLength(1);
  });

  it("applies the server's daily limit, privately, and sends nothing", async () => {
    const v = await deliveredVideo([{ name: 'prompt', type: STRING, value: 'a lantern at dusk' }]);
    const admin = (limit: number) => {
      const { id } = w.discord.slashCommand({ name: 'video-admin', options: [{ name: 'daily-limit', type: 1, options: [{ name: 'limit', type: INTEGER, value: limit }] }], permissions: MANAGE_GUILD });
      return w.discord.waitFor(() => w.discord.interactionResponses.get(id));
    };
    await admin(1);
    try {
      const data = (await pressExtend(v)).data as Modal;
      const before = creates(w);
      const submit = w.discord.submitModal({ customId: data.custom_id, fields: { prompt: 'the lantern goes out' } });
      const refused = await w.discord.waitFor(() => w.discord.interactionResponses.get(submit.id));
      expect(ephemeral(refused)).toBe(true);
      expect(contentOf(refused)).toMatch(/You've made \d+ videos today; this server allows 1 a day/);
      await new Promise((r) => setTimeout(r, 300));
      expect(creates(w)).toBe(before);
    } finally {
      await admin(0);
    }
  });

  it('on 2.0, offers the whole clip as the reference video: video_urls is the original link and no image is sent', async () => {
    const v = await deliveredVideo([{ name: 'prompt', type: STRING, value: 'a fox on a hill' }, { name: 'model', type: STRING, value: '2.0' }, { name: 'resolution', type: STRING, value: '720p' }]);
    const data = (await pressExtend(v)).data as Modal;
    expect(data.components.map((c) => c.component.custom_id)).toEqual(['prompt', 'from']);
    expect(data.components[1]).toMatchObject({ type: 18, label: 'Continue from', component: { type: 3, options: [{ value: 'frame', default: true }, { value: 'clip' }] } });

    const original = createBodies().find((b) => b.prompt === 'a fox on a hill')!;
    expect(original.model).toBe('bytedance/seedance-2-0');
    const genId = [...w.emulator.jobs.values()].find((j) => j.body.prompt === 'a fox on a hill')!.id;
    const download = w.emulator.requests.find((r) => r.kind === 'download' && r.path.includes(`/cdn/${encodeURIComponent(genId)}.mp4`))!;
    const link = `${w.emulator.aimlapiUrl}${download.path}`;

    const before = createBodies().length;
    const submit = w.discord.submitModal({ customId: data.custom_id, fields: { prompt: 'the fox runs down', from: 'clip' } });
    const reply = await w.discord.waitFor(() => w.discord.interactionResponses.get(submit.id));
    expect(ephemeral(reply)).toBe(false);
    await w.discord.waitFor(() => videoFor(w, reply.messageId!), 20_000);
    const bodies = createBodies().slice(before);
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toMatchObject({ model: 'bytedance/seedance-2-0', prompt: 'Continue @Video1: the fox runs down', resolution: '720p', duration: original.duration, video_urls: [link] });
    expect(bodies[0]).not.toHaveProperty('image_url');
  });

  it("says so, privately, when this bot has no ffmpeg, and sends nothing", async () => {
    const v = await deliveredVideo([{ name: 'prompt', type: STRING, value: 'a snail in the rain' }]);
    await w.stopBot();
    await w.startBot({ DISCORD_THREAD_PER_VIDEO: 'true', FFMPEG_PATH: join(w.dataDir, 'no-ffmpeg-here') });
    const before = creates(w);
    const refused = await pressExtend(v, IDS.bob);
    expect(refused.type).toBe(4);
    expect(ephemeral(refused)).toBe(true);
    expect(contentOf(refused)).toContain("ffmpeg isn't installed on this bot, so Extend is unavailable.");
    expect(creates(w)).toBe(before);
  });
});
