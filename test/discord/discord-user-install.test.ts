/**
 * Discord everywhere, end to end: the real bot used through a user install
 * where the bot is not a member (a server that never added it, a group DM).
 * It can't use the channel API there, so the first response is the progress
 * message (edited through the interaction's webhook) and the video is a
 * follow-up with the file; a job that outlives the interaction token is
 * delivered by DM instead, saying why.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logProblems } from '../helpers/log-scan.js';
import { INTEGER, IDS, STRING, createWorld, creates, image } from './bot-world.js';
import type { World } from './bot-world.js';
import type { RecordedCall, StandinMessage } from './standin/discord-standin.js';

const fixture = readFileSync(new URL('../fixtures/tiny.mp4', import.meta.url));
const FOREIGN_GUILD = '800000000000000009';
const FOREIGN_CHANNEL = '810000000000000091';
const GROUP_DM = '820000000000000001';
const prompt = (value: string) => ({ name: 'prompt', type: STRING, value });
const isMp4 = (m: StandinMessage) => m.attachments.some((a) => a.filename.endsWith('.mp4'));

/** Every interaction token the stand-in handed out, to check none reached the bot's log. */
const tokens: string[] = [];

/** The bot's log must hold no interaction token (whole, or the secret part after the last ':'). */
function tokenLeak(w: World): string | undefined {
  const needles: Record<string, string> = {};
  tokens.forEach((t, i) => {
    needles[`interaction token ${i}`] = t;
    needles[`interaction token ${i} (secret part)`] = t.slice(t.lastIndexOf(':') + 1);
    needles[`interaction token ${i} (as in a reference)`] = encodeURIComponent(t);
  });
  return logProblems(w.output(), needles);
}

function slash(w: World, p: Parameters<World['discord']['slashCommand']>[0]) {
  const r = w.discord.slashCommand(p);
  tokens.push(r.token);
  return r;
}

const webhookPath = (w: World, token: string) => `/webhooks/${w.discord.applicationId}/${token}`;
/** Calls the bot made with its own token to a channel route. */
const channelCalls = (calls: RecordedCall[]) => calls.filter((c) => c.path.startsWith('/channels/'));
/** The video the bot posted as a follow-up of an interaction. */
const followUpVideo = (w: World, interactionId: string, not?: string) =>
  [...w.discord.messages.values()].find((m) => m.viaInteraction === interactionId && m.id !== not && isMp4(m));
const dmChannelOf = (w: World, userId: string) => [...w.discord.channels.values()].find((c) => c.type === 1 && c.recipientId === userId && !c.botAbsent);
const dmVideos = (w: World, text: string) => {
  const dm = dmChannelOf(w, IDS.alice);
  return dm ? [...w.discord.messages.values()].filter((m) => m.channelId === dm.id && isMp4(m) && m.content.includes(text)) : [];
};

describe('a user install where the bot is not a member', () => {
  let w: World;
  beforeAll(async () => {
    w = await createWorld({
      extraGuilds: [{ id: FOREIGN_GUILD, name: 'Elsewhere', botMember: false, channels: [{ id: FOREIGN_CHANNEL, name: 'lounge' }] }],
      standin: { privateChannels: [{ id: GROUP_DM, recipientIds: [IDS.alice, IDS.bob], name: 'friends' }] },
    });
    await w.startBot();
  }, 60_000);
  afterAll(async () => {
    const leak = w ? tokenLeak(w) : undefined;
    await w?.close();
    if (leak) throw new Error(leak);
  });

  it('in a server that never added the bot: progress on the webhook @original, the MP4 as a follow-up, no channel routes', async () => {
    const before = creates(w);
    const from = w.discord.calls.length;
    const { id, token } = slash(w, { name: 'video', channelId: FOREIGN_CHANNEL, options: [prompt('a heron in fog'), { name: 'seed', type: INTEGER, value: 99 }] });
    const response = await w.discord.waitFor(() => w.discord.interactionResponses.get(id));
    expect(response.type).toBe(4);
    const progressId = response.messageId!;
    expect(w.discord.messages.get(progressId)!.history[0]!.content).toContain('Starting');

    const vid = await w.discord.waitFor(() => followUpVideo(w, id, progressId), 20_000);
    expect(vid.channelId).toBe(FOREIGN_CHANNEL);
    expect(vid.attachments).toHaveLength(1);
    expect(vid.attachments[0]!.data.equals(fixture)).toBe(true);
    expect(vid.content).toContain('seed `99`');
    expect(vid.content).toContain(`<@${IDS.alice}>`);
    for (const action of ['reroll', 'again', 'delete']) expect(JSON.stringify(vid.components)).toContain(`sd:${action}:`);
    await w.discord.waitFor(() => w.discord.messages.get(progressId)!.content.includes('✅ Done'));
    expect(creates(w)).toBe(before + 1);

    const calls = w.discord.calls.slice(from);
    expect(channelCalls(calls)).toEqual([]);
    expect(calls.filter((c) => c.status >= 400)).toEqual([]);
    const hook = webhookPath(w, token);
    const edits = calls.filter((c) => c.method === 'PATCH' && c.path === `${hook}/messages/@original`);
    expect(edits.length).toBeGreaterThanOrEqual(2);
    const posts = calls.filter((c) => c.method === 'POST' && c.path === hook);
    expect(posts).toHaveLength(1);
    expect((posts[0]!.body as { files: unknown[] }).files).toHaveLength(1);
    // Webhook calls go without the bot token.
    expect([...edits, ...posts].every((c) => c.auth === undefined)).toBe(true);
    const shown = w.discord.messages.get(progressId)!.history.map((h) => h.content);
    expect(shown.some((c) => /🎬|📨/.test(c))).toBe(true);
    expect(shown.some((c) => c.includes('If this takes more than 15 minutes, the video comes to you by DM'))).toBe(true);
    expect(w.output()).toContain('answering through the interaction webhook');
  });

  it('in a group DM between users (context 2) the same way', async () => {
    const before = creates(w);
    const from = w.discord.calls.length;
    const { id, token } = slash(w, { name: 'video', guildId: null, channelId: GROUP_DM, options: [prompt('two otters holding hands')] });
    const response = await w.discord.waitFor(() => w.discord.interactionResponses.get(id));
    const vid = await w.discord.waitFor(() => followUpVideo(w, id, response.messageId), 20_000);
    expect(vid.channelId).toBe(GROUP_DM);
    await w.discord.waitFor(() => w.discord.messages.get(response.messageId!)!.content.includes('✅ Done'));
    expect(creates(w)).toBe(before + 1);
    const calls = w.discord.calls.slice(from);
    expect(channelCalls(calls)).toEqual([]);
    expect(calls.filter((c) => c.method === 'POST' && c.path === webhookPath(w, token))).toHaveLength(1);
  });

  it('Apps > Animate there: the modal, then progress and the video on the modal submit\'s webhook', async () => {
    const from = w.discord.calls.length;
    const cmd = w.discord.messageCommand({ name: 'Animate', channelId: FOREIGN_CHANNEL, target: { content: 'my cat', authorId: IDS.bob, attachments: [image('cat.png')] } });
    tokens.push(cmd.token);
    const modal = await w.discord.waitFor(() => w.discord.interactionResponses.get(cmd.id));
    expect(modal.type).toBe(9);
    const submit = w.discord.submitModal({ customId: (modal.data as { custom_id: string }).custom_id, fields: { prompt: 'the cat yawns' } });
    tokens.push(submit.token);
    const reply = await w.discord.waitFor(() => w.discord.interactionResponses.get(submit.id));
    const vid = await w.discord.waitFor(() => followUpVideo(w, submit.id, reply.messageId), 20_000);
    expect(vid.channelId).toBe(FOREIGN_CHANNEL);
    await w.discord.waitFor(() => w.discord.messages.get(reply.messageId!)!.content.includes('✅ Done'));
    expect(channelCalls(w.discord.calls.slice(from))).toEqual([]);
  });

  it('the Delete button there deletes the video through the button\'s own webhook', async () => {
    const { id } = slash(w, { name: 'video', channelId: FOREIGN_CHANNEL, options: [prompt('a lantern on water')] });
    const response = await w.discord.waitFor(() => w.discord.interactionResponses.get(id));
    const vid = await w.discord.waitFor(() => followUpVideo(w, id, response.messageId), 20_000);
    await w.discord.waitFor(() => w.discord.messages.get(response.messageId!)!.content.includes('✅ Done'));
    const jobId = /sd:delete:([\w-]+)/.exec(JSON.stringify(vid.components))![1]!;
    const from = w.discord.calls.length;
    const click = w.discord.clickButton({ messageId: vid.id, customId: `sd:delete:${jobId}` });
    tokens.push(click.token);
    await w.discord.waitFor(() => w.discord.messages.get(vid.id)!.deleted);
    const done = await w.discord.waitFor(() => [...w.discord.messages.values()].find((m) => m.viaInteraction === click.id && m.content === 'Deleted.'));
    expect(done.flags! & 64).toBe(64);
    expect(channelCalls(w.discord.calls.slice(from))).toEqual([]);
  });

  it('Cancel there stops the job and says so on the progress message, through the webhooks', async () => {
    const from = w.discord.calls.length;
    const { id } = slash(w, { name: 'video', channelId: FOREIGN_CHANNEL, options: [prompt('a slow sunrise')] });
    const response = await w.discord.waitFor(() => w.discord.interactionResponses.get(id));
    const progressId = response.messageId!;
    const cancelId = await w.discord.waitFor(() => /"(sd:cancel:[\w-]+)"/.exec(JSON.stringify(w.discord.messages.get(progressId)!.components))?.[1], 10_000);
    const click = w.discord.clickButton({ messageId: progressId, customId: cancelId });
    tokens.push(click.token);
    await w.discord.waitFor(() => w.discord.messages.get(progressId)!.content.startsWith('🛑'), 10_000);
    await w.discord.waitFor(() => [...w.discord.messages.values()].find((m) => m.viaInteraction === click.id && m.content.startsWith('Stopped.')));
    expect(channelCalls(w.discord.calls.slice(from))).toEqual([]);
  });

  it('a job there survives the bot being killed mid-render: it resumes on the webhook and delivers once', async () => {
    const before = creates(w);
    const { id, token } = slash(w, { name: 'video', channelId: FOREIGN_CHANNEL, options: [prompt('a crash course in origami')] });
    const response = await w.discord.waitFor(() => w.discord.interactionResponses.get(id));
    await w.discord.waitFor(() => [...w.emulator.jobs.values()].some((j) => String(j.body.prompt) === 'a crash course in origami' && j.statusPolls > 0), 10_000);
    await w.stopBot('SIGKILL');
    const from = w.discord.calls.length;
    await w.startBot();
    const vid = await w.discord.waitFor(() => followUpVideo(w, id, response.messageId), 20_000);
    await w.discord.waitFor(() => w.discord.messages.get(response.messageId!)!.content.includes('✅ Done'));
    await new Promise((r) => setTimeout(r, 1000));
    expect([...w.discord.messages.values()].filter((m) => m.viaInteraction === id && isMp4(m)).map((m) => m.id)).toEqual([vid.id]);
    expect(creates(w)).toBe(before + 1);
    const calls = w.discord.calls.slice(from);
    expect(channelCalls(calls)).toEqual([]);
    expect(calls.some((c) => c.method === 'PATCH' && c.path === `${webhookPath(w, token)}/messages/@original`)).toBe(true);
  }, 40_000);

  it('/video-usage answers there too', async () => {
    const { id } = slash(w, { name: 'video-usage', channelId: FOREIGN_CHANNEL });
    const r = await w.discord.waitFor(() => w.discord.interactionResponses.get(id));
    expect(r.type).toBe(4);
    expect((r.data as { flags: number }).flags & 64).toBe(64);
    expect((r.data as { content: string }).content).toMatch(/today/i);
  });
});

describe('a job that outlives its interaction token', () => {
  let w: World;
  const TTL_MS = 2500;
  beforeAll(async () => {
    // The stand-in's tokens last 2.5 s; videos take 4 s to render.
    w = await createWorld({
      renderMs: 4000,
      extraGuilds: [{ id: FOREIGN_GUILD, name: 'Elsewhere', botMember: false, channels: [{ id: FOREIGN_CHANNEL, name: 'lounge' }] }],
      standin: { webhookTokenTtlMs: TTL_MS },
    });
  }, 60_000);
  afterAll(async () => {
    const leak = w ? tokenLeak(w) : undefined;
    await w?.close();
    if (leak) throw new Error(leak);
  });

  /** Runs one job and returns its DM video once it is there (and, after a while, still the only one). */
  async function outlive(text: string) {
    const before = creates(w);
    const from = w.discord.calls.length;
    const { id, token } = slash(w, { name: 'video', channelId: FOREIGN_CHANNEL, options: [prompt(text)] });
    await w.discord.waitFor(() => w.discord.interactionResponses.get(id));
    const [vid] = await w.discord.waitFor(() => (dmVideos(w, text).length ? dmVideos(w, text) : undefined), 20_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(dmVideos(w, text)).toHaveLength(1);
    expect(creates(w)).toBe(before + 1);
    expect(vid!.content.startsWith('ℹ️ Discord only lets me post in that conversation for 15 minutes')).toBe(true);
    expect(vid!.attachments[0]!.data.equals(fixture)).toBe(true);
    const calls = w.discord.calls.slice(from);
    // The DM is opened and posted to with the bot token; the foreign channel is never called.
    expect(calls.some((c) => c.method === 'POST' && c.path === '/users/@me/channels')).toBe(true);
    expect(channelCalls(calls).every((c) => c.path.startsWith(`/channels/${dmChannelOf(w, IDS.alice)!.id}/`))).toBe(true);
    expect([...w.discord.messages.values()].some((m) => m.viaInteraction === id && isMp4(m))).toBe(false);
    return { calls, hook: webhookPath(w, token) };
  }

  it('goes to the requester\'s DM, once, when the bot knows the token has expired (DISCORD_INTERACTION_TOKEN_TTL_S)', async () => {
    await w.startBot({ DISCORD_INTERACTION_TOKEN_TTL_S: '2' });
    const { calls, hook } = await outlive('a snail crossing a road');
    // The bot stopped using the token by itself: no follow-up was tried and Discord never refused one.
    expect(calls.filter((c) => c.method === 'POST' && c.path === hook)).toEqual([]);
    expect(calls.filter((c) => c.path.startsWith(hook) && c.status === 401)).toEqual([]);
    await w.stopBot();
  }, 40_000);

  it('goes to the requester\'s DM, once, when Discord answers the follow-up with 401 50027', async () => {
    await w.startBot();
    const { calls, hook } = await outlive('a glacier calving');
    const refused = calls.filter((c) => c.method === 'POST' && c.path === hook);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(refused.every((c) => c.status === 401)).toBe(true);
  }, 40_000);
});
