/**
 * Extend across instances: two real bot processes on one real Redis, each with
 * its own DATA_DIR. The first delivers a video (the emulator's clip turns from
 * blue to red) and keeps its last frame, locally and in Redis; it is then
 * stopped, so the second, which never saw the video, handles the Extend click
 * and the form: it must find the frame in Redis and submit it, red, once. Then
 * the other way round with a crash: an extended clip waiting in the second
 * bot's queue when it is killed is taken over and submitted by the first, which
 * reads the kept frame from Redis too.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDS, STRING, botMessages, createWorld, creates, videoFor } from './bot-world.js';
import type { World, WorldBot } from './bot-world.js';
import type { RedisServer } from '../helpers/redis.js';
import { startRedis } from '../helpers/redis.js';
import { until } from '../helpers/until.js';

const FIXTURE = new URL('../fixtures/blue-red-640x360.mp4', import.meta.url);
const PREFIX = 'extend-two';
let redis: RedisServer;
let w: World;
let second: WorldBot;
/** The second instance's own data directory (the first uses the world's). */
const secondDir = mkdtempSync(join(tmpdir(), 'seedance-discord-second-'));

beforeAll(async () => {
  redis = await startRedis();
  w = await createWorld({ videoBytes: readFileSync(FIXTURE), env: { STORE_URL: redis.url({ prefix: PREFIX }), DISCORD_THREAD_PER_VIDEO: 'true', LEASE_SECONDS: '3', MAX_JOBS_IN_FLIGHT: '1' } });
  second = w.anotherBot();
  await w.startBot();
}, 60_000);
afterAll(async () => {
  await w?.close();
  await redis?.stop();
  rmSync(secondDir, { recursive: true, force: true });
});

type Obj = Record<string, unknown>;
type Modal = { custom_id: string };
const createBodies = () => w.emulator.requests.filter((r) => r.kind === 'create').map((r) => r.body as Obj);
const frameIn = (dataDir: string, jobId: string) => join(dataDir, 'frames', `${jobId}.jpg`);
const ephemeral = (r: { data?: unknown }) => (((r.data as { flags?: number }).flags ?? 0) & 64) === 64;
/** The frame's copy in Redis: keyv's keys are `PREFIX::key`. */
const sharedKey = (jobId: string) => `${PREFIX}::frame:${jobId}`;
/** Jobs a bot admitted, from its log, oldest first. */
const admitted = (output: string) => [...output.matchAll(/"jobId":"([^"]+)"[^\n]*"msg":"job admitted"/g)].map((m) => m[1]!);

/** Runs /video on the running bot and waits until the video is delivered and its last frame kept in `dataDir`. */
async function deliveredVideo(text: string, dataDir: string) {
  const { id } = w.discord.slashCommand({ name: 'video', options: [{ name: 'prompt', type: STRING, value: text }] });
  const reply = await w.discord.waitFor(() => w.discord.interactionResponses.get(id));
  const thread = await w.discord.waitFor(() => w.discord.channels.get(reply.messageId!));
  const video = await w.discord.waitFor(() => botMessages(w, thread.id).find((m) => JSON.stringify(m.components).includes('sd:extend:')), 20_000);
  const jobId = /sd:extend:([\w-]+)/.exec(JSON.stringify(video.components))![1]!;
  await w.discord.waitFor(() => w.discord.messages.get(reply.messageId!)!.content.includes('✅ Done'), 20_000);
  await w.discord.waitFor(() => existsSync(frameIn(dataDir, jobId)), 20_000);
  return { video, jobId };
}

/** Presses Extend and sends the form with `prompt`; the answer to the form. */
async function extend(v: { video: { id: string }; jobId: string }, prompt: string) {
  const click = w.discord.clickButton({ messageId: v.video.id, customId: `sd:extend:${v.jobId}` });
  const modal = await w.discord.waitFor(() => w.discord.interactionResponses.get(click.id));
  expect({ type: modal.type, content: (modal.data as { content?: string }).content }).toEqual({ type: 9, content: undefined });
  const submit = w.discord.submitModal({ customId: (modal.data as Modal).custom_id, fields: { prompt } });
  const answer = await w.discord.waitFor(() => w.discord.interactionResponses.get(submit.id));
  expect(ephemeral(answer)).toBe(false);
  return answer;
}

/** The image a create request carried, decoded from its data URI. */
function sentImage(body: Obj): Buffer {
  const m = /^data:image\/jpeg;base64,(.+)$/.exec(String(body.image_url));
  expect(m).not.toBeNull();
  return Buffer.from(m![1]!, 'base64');
}

/** The middle colour of a JPEG, decoded by ffmpeg: [r, g, b]. */
function colourOf(jpeg: Buffer): number[] {
  const rgb = execFileSync('ffmpeg', ['-v', 'error', '-f', 'image2pipe', '-i', 'pipe:0', '-vf', 'scale=1:1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { input: jpeg });
  return [...rgb.subarray(0, 3)];
}

describe('Extend on another instance (one Redis, a DATA_DIR each)', () => {
  it("the second bot extends the first bot's video from the frame it kept in Redis: one create, the red last frame", async () => {
    const v = await deliveredVideo('a fox in the snow', w.dataDir);
    const kept = readFileSync(frameIn(w.dataDir, v.jobId));
    // Stopped gracefully (what it was doing ends first), so only the second bot sees the click.
    await w.stopBot();
    await second.start({ DATA_DIR: secondDir });
    expect(await redis.command('EXISTS', sharedKey(v.jobId))).toBe(':1\r\n');
    expect(existsSync(frameIn(secondDir, v.jobId))).toBe(false);

    const before = createBodies().length;
    const answer = await extend(v, 'the fox jumps');
    await w.discord.waitFor(() => videoFor(w, answer.messageId!), 20_000);
    const bodies = createBodies().slice(before);
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toMatchObject({ prompt: 'the fox jumps' });
    const sent = sentImage(bodies[0]!);
    expect(sent.equals(kept)).toBe(true);
    const [r, g, b] = colourOf(sent);
    expect(r).toBeGreaterThan(200);
    expect(g! + b!).toBeLessThan(60);
    // The second bot keeps a copy of the frame in its own folder now.
    expect(readFileSync(frameIn(secondDir, v.jobId)).equals(kept)).toBe(true);
  });

  it('an extended clip queued on a bot that is killed is submitted by the one that takes it over, with the frame from Redis', async () => {
    // On the second bot: a video delivered, then a slow one holding the only slot at the provider (MAX_JOBS_IN_FLIGHT=1).
    const v = await deliveredVideo('a heron by the lake', secondDir);
    const kept = readFileSync(frameIn(secondDir, v.jobId));
    await until(async () => (await redis.command('EXISTS', sharedKey(v.jobId))) === ':1\r\n');
    const atProvider = creates(w);
    const seen = admitted(second.output()).length;
    const slow = w.discord.slashCommand({ name: 'video', options: [{ name: 'prompt', type: STRING, value: 'a slow snail' }], userId: IDS.bob });
    await w.discord.waitFor(() => w.discord.interactionResponses.get(slow.id));
    await w.discord.waitFor(() => creates(w) === atProvider + 1, 10_000);
    // So the extended clip waits in the second bot's queue, unsent, when that bot is killed.
    await extend(v, 'the heron flies');
    const extended = await w.discord.waitFor(() => admitted(second.output())[seen + 1], 10_000);
    expect(admitted(second.output())).toHaveLength(seen + 2);
    expect(await redis.command('HGET', `${PREFIX}:job:${extended}`, 'status')).toContain('queued');
    expect(creates(w)).toBe(atProvider + 1);
    await second.stop('SIGKILL');

    // The first bot, whose folder never had this frame, takes both jobs over, with room for both at the provider.
    expect(existsSync(frameIn(w.dataDir, v.jobId))).toBe(false);
    await w.startBot({ MAX_JOBS_IN_FLIGHT: '2' });
    const body = await w.discord.waitFor(() => createBodies().find((b) => b.prompt === 'the heron flies'), 20_000);
    expect(w.output()).toMatch(new RegExp(`"jobId":"${extended}"[^\\n]*"msg":"resuming job"`));
    expect(sentImage(body).equals(kept)).toBe(true);
    expect(createBodies().filter((b) => b.prompt === 'the heron flies')).toHaveLength(1);
    expect(readFileSync(frameIn(w.dataDir, v.jobId)).equals(kept)).toBe(true);
  });
});
