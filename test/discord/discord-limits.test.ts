/**
 * Discord: limits hold under parallel requests. Admission is one atomic
 * reservation in the store, so five Re-roll clicks at once can't all pass a
 * server's daily limit, and the per-user daily limit holds in DMs too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDS, INTEGER, STRING, botMessages, createWorld, creates, videoFor } from './bot-world.js';
import type { World } from './bot-world.js';

let w: World;
beforeAll(async () => {
  w = await createWorld({ renderMs: 300 });
  await w.startBot({ DAILY_LIMIT_PER_USER: '4' });
}, 60_000);
afterAll(async () => {
  await w?.close();
});

const prompt = (value: string) => ({ name: 'prompt', type: STRING, value });
const content = (r: { data?: unknown }) => (r.data as { content: string }).content;
const ephemeral = (r: { data?: unknown }) => (((r.data as { flags?: number }).flags ?? 0) & 64) === 64;
const admin = (sub: string, options: unknown[] = []) =>
  w.discord.slashCommand({ name: 'video-admin', options: [{ name: sub, type: 1, options }], permissions: String(1 << 5) });

describe('limits under parallel requests', () => {
  it("five Re-roll clicks at once start only what the server's daily limit leaves", async () => {
    const limit = admin('daily-limit', [{ name: 'limit', type: INTEGER, value: 2 }]);
    await w.discord.waitFor(() => w.discord.interactionResponses.get(limit.id));
    const { id } = w.discord.slashCommand({ name: 'video', options: [prompt('reroll me')] });
    const first = await w.discord.waitFor(() => w.discord.interactionResponses.get(id));
    const vid = await w.discord.waitFor(() => videoFor(w, first.messageId!), 20_000);
    const buttons = (vid.components as { components: { custom_id?: string }[] }[]).flatMap((row) => row.components);
    const reroll = buttons.find((c) => c.custom_id?.startsWith('sd:reroll:'))!;
    const before = creates(w);

    const clicks = Array.from({ length: 5 }, () => w.discord.clickButton({ messageId: vid.id, customId: reroll.custom_id! }));
    const answers = await w.discord.waitFor(() => {
      const all = clicks.map((c) => w.discord.interactionResponses.get(c.id));
      return all.every(Boolean) ? all.map((a) => a!) : undefined;
    }, 20_000);

    const started = answers.filter((a) => !ephemeral(a));
    const refused = answers.filter(ephemeral);
    expect(started).toHaveLength(1);
    expect(refused).toHaveLength(4);
    for (const r of refused) expect(content(r)).toContain("You've made 2 videos today; this server allows 2 a day");
    await w.discord.waitFor(() => videoFor(w, started[0]!.messageId!), 20_000);
    expect(creates(w)).toBe(before + 1);
    const off = admin('daily-limit', [{ name: 'limit', type: INTEGER, value: 0 }]);
    await w.discord.waitFor(() => w.discord.interactionResponses.get(off.id));
  });

  it('the per-user daily limit (DAILY_LIMIT_PER_USER) holds in DMs as well', async () => {
    // Alice has made 2 videos in the server; the bot allows her 4 a day anywhere.
    const ask = (text: string) => {
      const { id } = w.discord.slashCommand({ name: 'video', options: [prompt(text)], guildId: null });
      return w.discord.waitFor(() => w.discord.interactionResponses.get(id));
    };
    const third = await ask('third of the day');
    expect(ephemeral(third)).toBe(false);
    const fourth = await ask('fourth of the day');
    expect(ephemeral(fourth)).toBe(false);
    const fifth = await ask('fifth of the day');
    expect(ephemeral(fifth)).toBe(true);
    expect(content(fifth)).toContain("You've made 4 videos today; this bot allows 4 a day");
    const dmChannel = w.discord.messages.get(fourth.messageId!)!.channelId;
    await w.discord.waitFor(() => videoFor(w, fourth.messageId!), 20_000);
    expect(botMessages(w, dmChannel).some((m) => m.content.includes('fifth of the day'))).toBe(false);
    expect(dmChannel).not.toBe(IDS.general);
  });
});
