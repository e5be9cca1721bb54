/**
 * Discord end to end: which messages start a (paid) job and which do nothing.
 *
 * A message starts a job only when it carries an image and addresses the bot (an explicit mention, or the ping of a
 * reply to one of the bot's messages), or when its text mentions the bot explicitly (on a reply to one of the bot's
 * videos that re-rolls it with the new prompt). A DM addresses the bot by itself. Pinging replies with text only,
 * replies that don't ping, empty messages and forwards do nothing at all. The same event delivered twice starts one job.
 *
 * "Nothing happened" is shown by ordering, not by waiting: after the message under test, a message that does start a
 * job goes to the same place, and once its video is out exactly one create has happened since and no bot message
 * answers the message under test.
 */
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openSqlite } from '../../src/store/sqlite-connection.js';
import { IDS, STRING, botMessages, createWorld, creates, image, videoFor } from './bot-world.js';
import type { World } from './bot-world.js';
import type { StandinMessage, UserMessageInput } from './standin/discord-standin.js';

let w: World;
beforeAll(async () => {
  w = await createWorld();
  await w.startBot();
}, 60_000);
afterAll(async () => {
  await w?.close();
});

const isVideo = (m: StandinMessage) => m.authorId === w.discord.botUserId && m.attachments.some((a) => a.filename.endsWith('.mp4'));
/** Every create so far has been delivered as a video, so nothing from one test is still running in the next. */
afterEach(async () => {
  await w.discord.waitFor(() => [...w.discord.messages.values()].filter(isVideo).length >= creates(w), 30_000);
}, 35_000);

type Place = Pick<UserMessageInput, 'channelId' | 'guildId' | 'userId'>;
const DM: Place = { guildId: null };

const createBodies = () =>
  w.emulator.requests.filter((r) => r.method === 'POST' && r.path.startsWith('/v2/video/generations')).map((r) => r.body as Record<string, unknown>);
const lastBody = () => createBodies().at(-1)!;
/** Bot messages (anywhere) that reply to `id`. */
const answersTo = (id: string) => [...w.discord.messages.values()].filter((m) => m.authorId === w.discord.botUserId && m.messageReference?.message_id === id);

/** Runs /video and waits until its video is out and the progress message says done. */
async function video(prompt: string, { options = [], ...where }: { options?: unknown[]; guildId?: string | null; userId?: string } = {}) {
  const { id } = w.discord.slashCommand({ name: 'video', options: [{ name: 'prompt', type: STRING, value: prompt }, ...options], ...where });
  const response = await w.discord.waitFor(() => w.discord.interactionResponses.get(id));
  const progressId = response.messageId!;
  const vid = await w.discord.waitFor(() => videoFor(w, progressId), 20_000);
  await w.discord.waitFor(() => w.discord.messages.get(progressId)!.content.includes('✅ Done'), 20_000);
  return { id, progressId, vid };
}

/** Waits for the bot's progress reply to `msg` and then for its video. */
async function delivered(msg: StandinMessage) {
  const progress = await w.discord.waitFor(() => answersTo(msg.id)[0], 10_000);
  const vid = await w.discord.waitFor(() => videoFor(w, progress.id), 20_000);
  return { progress, vid };
}

let sentinels = 0;
/**
 * Sends the message `send` makes, then one that does start a job in the same place; once that one's video is out,
 * checks that only the sentinel's job was created and that the bot answered nothing else in that channel.
 */
async function expectIgnored(send: () => StandinMessage, place: Place = {}) {
  const before = createBodies().length;
  const noop = send();
  sentinels += 1;
  const prompt = `sentinel ${sentinels}: a quiet pond`;
  const sentinel = w.discord.userMessage({ ...place, channelId: noop.channelId, content: prompt, mentionBot: place.guildId !== null });
  const { progress, vid } = await delivered(sentinel);
  expect(createBodies().slice(before).map((b) => b.prompt)).toEqual([prompt]);
  expect(answersTo(noop.id)).toEqual([]);
  const others = botMessages(w, noop.channelId).filter((m) => BigInt(m.id) > BigInt(noop.id) && m.id !== progress.id && m.id !== vid.id);
  expect(others.map((m) => m.content)).toEqual([]);
  return noop;
}

describe('messages that start a job', () => {
  it('an image with an explicit mention', async () => {
    const before = creates(w);
    const msg = w.discord.userMessage({ content: 'the cat yawns', mentionBot: true, attachments: [image('yawn.png')] });
    await delivered(msg);
    expect(creates(w)).toBe(before + 1);
    expect(lastBody()).toMatchObject({ model: 'bytedance/seedance-1-0-lite-i2v', prompt: 'the cat yawns', image_url: expect.stringContaining('yawn.png') });
  });

  it('text with an explicit mention', async () => {
    const before = creates(w);
    const msg = w.discord.userMessage({ content: 'a lighthouse at dusk', mentionBot: true });
    await delivered(msg);
    expect(creates(w)).toBe(before + 1);
    expect(lastBody()).toMatchObject({ model: 'bytedance/seedance-1-0-lite-t2v', prompt: 'a lighthouse at dusk' });
  });

  it("an image on a reply that pings one of the bot's videos", async () => {
    const { vid } = await video('a snowy street');
    const before = creates(w);
    const msg = w.discord.userMessage({ content: 'it starts to snow harder', referenceId: vid.id, attachments: [image('snow.png')] });
    await delivered(msg);
    expect(creates(w)).toBe(before + 1);
    expect(lastBody()).toMatchObject({ model: 'bytedance/seedance-1-0-lite-i2v', prompt: 'it starts to snow harder', image_url: expect.stringContaining('snow.png') });
  });

  it("an image on a reply that pings one of the bot's other messages (not a video)", async () => {
    const asked = w.discord.userMessage({ content: 'x --turbo', mentionBot: true });
    const answer = await w.discord.waitFor(() => answersTo(asked.id)[0]);
    expect(answer.content).toContain('unknown option --turbo');
    const before = creates(w);
    const msg = w.discord.userMessage({ content: 'ok, this one', referenceId: answer.id, attachments: [image('retry.png')] });
    await delivered(msg);
    expect(creates(w)).toBe(before + 1);
    expect(lastBody()).toMatchObject({ prompt: 'ok, this one', image_url: expect.stringContaining('retry.png') });
  });

  it("an explicit mention with text on a (non-pinging) reply to a video re-rolls it with the new prompt", async () => {
    const { vid } = await video('a paper boat on a stream', { options: [{ name: 'aspect_ratio', type: STRING, value: '9:16' }] });
    const before = creates(w);
    const msg = w.discord.userMessage({ content: 'make it night', mentionBot: true, replyPing: false, referenceId: vid.id });
    await delivered(msg);
    expect(creates(w)).toBe(before + 1);
    expect(lastBody()).toMatchObject({ model: 'bytedance/seedance-1-0-lite-t2v', prompt: 'make it night', aspect_ratio: '9:16' });
  });

  it('a plain DM with a prompt (a DM addresses the bot)', async () => {
    const before = creates(w);
    const msg = w.discord.userMessage({ ...DM, content: 'a lantern drifting on a lake' });
    const { vid } = await delivered(msg);
    expect(vid.channelId).toBe(msg.channelId);
    expect(creates(w)).toBe(before + 1);
    expect(lastBody()).toMatchObject({ prompt: 'a lantern drifting on a lake' });
  });
});

describe('messages that do nothing', () => {
  let vid: StandinMessage;
  beforeAll(async () => {
    ({ vid } = await video('a fox in the snow'));
  }, 30_000);

  it("a pinging reply to a bot video with text only ('nice!')", async () => {
    await expectIgnored(() => w.discord.userMessage({ content: 'nice!', referenceId: vid.id }));
  });

  it('a pinging reply to a bot video with no text and no image (an empty message)', async () => {
    await expectIgnored(() => w.discord.userMessage({ content: '', referenceId: vid.id }));
  });

  it("a reply to a bot video that doesn't ping (without Message Content the bot sees it empty)", async () => {
    const noop = await expectIgnored(() => w.discord.userMessage({ content: 'make it night', replyPing: false, referenceId: vid.id }));
    expect(w.discord.messages.get(noop.id)!.content).toBe('make it night');
  });

  it("a reply to a bot video that doesn't ping, even with an image", async () => {
    await expectIgnored(() => w.discord.userMessage({ content: 'use this', replyPing: false, referenceId: vid.id, attachments: [image('quiet.png')] }));
  });

  it('an image that does not address the bot', async () => {
    await expectIgnored(() => w.discord.userMessage({ content: 'my holiday', attachments: [image('beach.png')] }));
  });

  it("a forward of the bot's video", async () => {
    const noop = await expectIgnored(() => w.discord.userMessage({ forward: true, referenceId: vid.id }));
    expect(w.discord.messages.get(noop.id)!.messageReference).toMatchObject({ type: 1, message_id: vid.id });
  });

  it("a forward of the bot's video into a DM", async () => {
    await expectIgnored(() => w.discord.userMessage({ ...DM, forward: true, referenceId: vid.id }), DM);
  });

  it('a forward of an image into a DM (the image is in the snapshot, which the bot can read there)', async () => {
    const photo = w.discord.userMessage({ content: 'sunset from my window', userId: IDS.bob, attachments: [image('sunset.png')] });
    const noop = await expectIgnored(() => w.discord.userMessage({ ...DM, forward: true, referenceId: photo.id }), DM);
    expect(w.discord.messages.get(noop.id)!.messageSnapshots![0]!.attachments[0]!.filename).toBe('sunset.png');
  });
});

describe('a video whose record has expired (JOB_RETENTION_DAYS)', () => {
  it('a reply to it and its Re-roll button say the bot no longer has its details, and start nothing', async () => {
    const { vid } = await video('soon forgotten: a sandcastle');
    const jobId = /sd:reroll:([\w-]+)/.exec(JSON.stringify(vid.components))![1]!;
    // What the retention purge does to a finished job, done here at once.
    const db = await openSqlite(join(w.dataDir, 'seedance.sqlite'), { busyTimeoutMs: 5000 });
    expect(await db.query('DELETE FROM sd_jobs WHERE id = ? AND active = 0 RETURNING id', jobId)).toHaveLength(1);
    await db.close();
    const before = creates(w);
    const gone = "The bot no longer has this video's details (it keeps them for 30 days)";

    const msg = w.discord.userMessage({ content: 'make it stormy', mentionBot: true, referenceId: vid.id });
    expect((await w.discord.waitFor(() => answersTo(msg.id)[0])).content).toContain(gone);
    const click = w.discord.clickButton({ messageId: vid.id, customId: `sd:reroll:${jobId}` });
    const reply = await w.discord.waitFor(() => w.discord.interactionResponses.get(click.id));
    expect(String((reply.data as { content?: string }).content)).toContain(gone);
    expect(creates(w)).toBe(before);
  });
});

describe('the same event twice', () => {
  it('the same MESSAGE_CREATE delivered twice starts one job', async () => {
    const before = creates(w);
    const msg = w.discord.userMessage({ content: 'twice: a red kite', mentionBot: true });
    w.discord.redeliverMessage(msg.id);
    await delivered(msg);
    await delivered(w.discord.userMessage({ content: 'after the copy: a blue kite', mentionBot: true }));
    expect(createBodies().slice(-2).map((b) => b.prompt)).toEqual(['twice: a red kite', 'after the copy: a blue kite']);
    expect(creates(w)).toBe(before + 2);
    expect(answersTo(msg.id)).toHaveLength(1);
  });

  it('the same /video INTERACTION_CREATE delivered twice starts one job and the copy is ignored', async () => {
    const before = creates(w);
    const { id } = w.discord.slashCommand({ name: 'video', options: [{ name: 'prompt', type: STRING, value: 'twice: a green kite' }] });
    w.discord.redeliverInteraction(id);
    const response = await w.discord.waitFor(() => w.discord.interactionResponses.get(id));
    await w.discord.waitFor(() => videoFor(w, response.messageId!), 20_000);
    // The bot still answers commands afterwards.
    await video('after the copy: a yellow kite');
    expect(createBodies().slice(-2).map((b) => b.prompt)).toEqual(['twice: a green kite', 'after the copy: a yellow kite']);
    expect(creates(w)).toBe(before + 2);
    // The copy got no callback attempt (which Discord would refuse with 40060).
    expect(w.discord.calls.filter((c) => c.path.startsWith(`/interactions/${id}/`)).map((c) => c.status)).toHaveLength(1);
  });

  it('the same /video INTERACTION_CREATE replayed after it was answered starts no second job', async () => {
    const before = creates(w);
    const { id } = await video('replayed: an orange kite');
    w.discord.redeliverInteraction(id);
    await video('after the replay: a purple kite');
    expect(createBodies().slice(-2).map((b) => b.prompt)).toEqual(['replayed: an orange kite', 'after the replay: a purple kite']);
    expect(creates(w)).toBe(before + 2);
    expect(w.discord.calls.filter((c) => c.path.startsWith(`/interactions/${id}/`)).map((c) => c.status)).toHaveLength(1);
  });

  // Last: restarts the bot. A second process on the same store (an overlapping session) gets the event with an empty
  // discord.js cache, so only the bot itself can tell it already handled it.
  it('the same MESSAGE_CREATE delivered again to a restarted bot starts no second job', async () => {
    const msg = w.discord.userMessage({ content: 'before the restart: a white kite', mentionBot: true });
    await delivered(msg);
    await w.stopBot();
    await w.startBot();
    const before = createBodies().length;
    w.discord.redeliverMessage(msg.id);
    await delivered(w.discord.userMessage({ content: 'after the restart: a black kite', mentionBot: true }));
    expect(createBodies().slice(before).map((b) => b.prompt)).toEqual(['after the restart: a black kite']);
    expect(answersTo(msg.id)).toHaveLength(1);
  }, 60_000);
});
