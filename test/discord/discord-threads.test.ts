/** Discord with DISCORD_THREAD_PER_VIDEO: each video gets a thread of its own. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDS, STRING, createWorld } from './bot-world.js';
import type { World } from './bot-world.js';

let w: World;
beforeAll(async () => {
  w = await createWorld();
  await w.startBot({ DISCORD_THREAD_PER_VIDEO: 'true' });
}, 60_000);
afterAll(async () => {
  await w?.close();
});

describe('a thread per video', () => {
  it('opens a thread on the progress message and delivers the MP4 there', async () => {
    const { id } = w.discord.slashCommand({ name: 'video', options: [{ name: 'prompt', type: STRING, value: 'a windmill turning in the wind' }] });
    const reply = await w.discord.waitFor(() => w.discord.interactionResponses.get(id));
    const thread = await w.discord.waitFor(() => w.discord.channels.get(reply.messageId!));
    expect(thread).toMatchObject({ type: 11, parentId: IDS.general });
    expect(thread.name).toBe('a windmill turning in the wind');
    const vid = await w.discord.waitFor(() => [...w.discord.messages.values()].find((m) => m.channelId === thread.id && m.attachments.length > 0), 20_000);
    expect(vid.attachments[0]!.filename).toMatch(/\.mp4$/);
    // The progress message stays in the channel and ends as "done".
    await w.discord.waitFor(() => w.discord.messages.get(reply.messageId!)!.content.includes('✅ Done'));
    expect(w.discord.messages.get(reply.messageId!)!.channelId).toBe(IDS.general);
  });
});
