/**
 * Discord: what happens when things go wrong or change under a running job —
 * deleted messages and channels, cancels, server rules, platform limits — and
 * a restart of the bot mid-job.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_AIMLAPI_KEY } from '../emulator/provider-emulator.js';
import { ART_CHANNEL, IDS, INTEGER, MANAGE_MESSAGES, STRING, botMessages, createWorld, creates, videoFor } from './bot-world.js';
import type { World } from './bot-world.js';

let w: World;
beforeAll(async () => {
  w = await createWorld({ renderMs: 1500 });
  await w.startBot();
}, 60_000);
afterAll(async () => {
  await w?.close();
});

async function video(options: unknown[], extra: Record<string, unknown> = {}) {
  const { id } = w.discord.slashCommand({ name: 'video', options, ...extra });
  return w.discord.waitFor(() => w.discord.interactionResponses.get(id));
}
const prompt = (value: string) => ({ name: 'prompt', type: STRING, value });
const content = (r: { data?: unknown }) => (r.data as { content: string }).content;

describe('Discord when things change under a job', () => {
  it('still delivers into the channel when the progress message is deleted', async () => {
    const r = await video([prompt('deleted progress')]);
    w.discord.deleteMessage(r.messageId!);
    const vid = await w.discord.waitFor(
      () => botMessages(w).find((m) => m.attachments.some((a) => a.filename.endsWith('.mp4')) && m.content.includes('deleted progress')),
      20_000,
    );
    expect(vid.channelId).toBe(IDS.general);
    expect(vid.messageReference).toBeUndefined();
  });

  it('delivers by DM when the channel is gone', async () => {
    const r = await video([prompt('channel vanishes')], { channelId: IDS.second });
    w.discord.deleteChannel(IDS.second);
    const dm = await w.discord.waitFor(() => [...w.discord.channels.values()].find((c) => c.type === 1 && c.recipientId === IDS.alice), 20_000);
    const vid = await w.discord.waitFor(() => botMessages(w, dm.id).find((m) => m.content.includes('channel vanishes')), 20_000);
    expect(vid.attachments).toHaveLength(1);
    expect(r.messageId).toBeDefined();
  });

  it('falls back to a link when Discord refuses the file as too large', async () => {
    w.discord.addFault({ method: 'POST', pathIncludes: `/channels/${IDS.general}/messages`, times: 1, status: 413, body: { code: 40005, message: 'Request entity too large' } });
    const r = await video([prompt('refused upload')]);
    const link = await w.discord.waitFor(() => botMessages(w).find((m) => m.messageReference?.message_id === r.messageId && m.content.includes('too large to attach')), 20_000);
    expect(link.attachments).toEqual([]);
  });

  it('cancels for the requester (saying the provider may still charge), and not for others', async () => {
    const r = await video([prompt('cancel me, a slow one')]);
    const progressId = r.messageId!;
    const cancelId = await w.discord.waitFor(() => /sd:cancel:[\w-]+/.exec(JSON.stringify(w.discord.messages.get(progressId)!.components))?.[0]);
    const bob = w.discord.clickButton({ messageId: progressId, customId: cancelId, userId: IDS.bob });
    expect(content(await w.discord.waitFor(() => w.discord.interactionResponses.get(bob.id)))).toContain('Only the person who asked');
    const alice = w.discord.clickButton({ messageId: progressId, customId: cancelId });
    // Deferred at once (ephemeral), then edited with the outcome.
    const deferred = await w.discord.waitFor(() => w.discord.interactionResponses.get(alice.id));
    expect(deferred.type).toBe(5);
    await w.discord.waitFor(() => w.discord.messages.get(deferred.messageId!)?.content.includes('may still finish the job and charge'));
    expect(w.discord.messages.get(deferred.messageId!)!.flags! & 64).toBe(64);
    await w.discord.waitFor(() => w.discord.messages.get(progressId)!.content.startsWith('🛑'));
    expect(w.discord.messages.get(progressId)!.components).toEqual([]);
    await new Promise((res) => setTimeout(res, 2500));
    expect(videoFor(w, progressId)).toBeUndefined();
  });

  it('delivers into the thread a command was used in', async () => {
    const parent = botMessages(w).at(-1)!;
    const thread = (await fetch(`${w.discord.url}/api/v10/channels/${IDS.general}/messages/${parent.id}/threads`, {
      method: 'POST',
      headers: { authorization: `Bot ${w.discord.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'side chat' }),
    }).then((res) => res.json())) as { id: string };
    const r = await video([prompt('in a thread')], { channelId: thread.id });
    const vid = await w.discord.waitFor(() => videoFor(w, r.messageId!), 20_000);
    expect(vid.channelId).toBe(thread.id);
  });
});

describe('/video-admin', () => {
  const admin = (sub: string, options: unknown[] = []) =>
    w.discord.slashCommand({ name: 'video-admin', options: [{ name: sub, type: 1, options }], permissions: String(1 << 5) });

  it('is refused by the bot itself to a member without Manage Server, even when the server shows them the command', async () => {
    const as = (permissions: string, sub: string, options: unknown[] = []) =>
      w.discord.slashCommand({ name: 'video-admin', options: [{ name: sub, type: 1, options }], permissions, userId: IDS.bob });
    // Manage Messages (a moderator) is not enough to change settings.
    for (const perms of ['0', MANAGE_MESSAGES]) {
      const r = as(perms, 'daily-limit', [{ name: 'limit', type: INTEGER, value: 1 }]);
      const answer = await w.discord.waitFor(() => w.discord.interactionResponses.get(r.id));
      expect(content(answer)).toContain('needs the **Manage Server** permission');
      expect((answer.data as { flags: number }).flags & 64).toBe(64);
    }
    const show = admin('show');
    expect(content(await w.discord.waitFor(() => w.discord.interactionResponses.get(show.id)))).toContain('Daily limit per member: none');
    // Administrator implies Manage Server.
    const adminPerm = as(String(1 << 3), 'show');
    expect(content(await w.discord.waitFor(() => w.discord.interactionResponses.get(adminPerm.id)))).toContain('Video settings for this server');
  });

  it('restricts channels and enforces a daily limit before anything is submitted', async () => {
    const a = admin('channel-add', [{ name: 'channel', type: 7, value: IDS.general }]);
    expect(content(await w.discord.waitFor(() => w.discord.interactionResponses.get(a.id)))).toContain(`<#${IDS.general}>`);
    const before = creates(w);
    const elsewhere = await video([prompt('wrong channel')], { channelId: ART_CHANNEL });
    expect(content(elsewhere)).toContain(`Videos can be made in <#${IDS.general}>`);

    const l = admin('daily-limit', [{ name: 'limit', type: INTEGER, value: 1 }]);
    await w.discord.waitFor(() => w.discord.interactionResponses.get(l.id));
    const first = await video([prompt('first of the day')], { userId: IDS.bob });
    await w.discord.waitFor(() => videoFor(w, first.messageId!), 20_000);
    const second = await video([prompt('second of the day')], { userId: IDS.bob });
    expect(content(second)).toContain("You've made 1 video today; this server allows 1 a day");
    expect((second.data as { flags: number }).flags & 64).toBe(64);
    expect(creates(w)).toBe(before + 1);

    const reset = admin('daily-limit', [{ name: 'limit', type: INTEGER, value: 0 }]);
    await w.discord.waitFor(() => w.discord.interactionResponses.get(reset.id));
    const clear = admin('channels-clear');
    expect(content(await w.discord.waitFor(() => w.discord.interactionResponses.get(clear.id)))).toContain('every channel');

    const model = admin('default-model', [{ name: 'model', type: STRING, value: 'pro' }]);
    expect(content(await w.discord.waitFor(() => w.discord.interactionResponses.get(model.id)))).toContain('Default model: pro');
    const withDefault = await video([prompt('uses the server default')]);
    await w.discord.waitFor(() => videoFor(w, withDefault.messageId!), 20_000);
    expect(w.emulator.requests.filter((r) => r.method === 'POST').at(-1)!.body).toMatchObject({ model: 'bytedance/seedance-1-0-pro-t2v' });
    const back = admin('default-model', [{ name: 'model', type: STRING, value: 'lite' }]);
    await w.discord.waitFor(() => w.discord.interactionResponses.get(back.id));
  });
});

describe('restart', () => {
  it('finishes a job after the bot is killed mid-render, delivering it once', async () => {
    const before = creates(w);
    const r = await video([prompt('survives a crash'), { name: 'seed', type: INTEGER, value: 77 }]);
    // Kill after the first status check: by then the job is stored as running
    // (a kill between the create and that write is the "interrupted submit" case, never resent).
    await w.discord.waitFor(() => [...w.emulator.jobs.values()].some((j) => String(j.body.prompt) === 'survives a crash' && j.statusPolls > 0), 10_000);
    await w.stopBot('SIGKILL');
    await w.startBot();
    const vid = await w.discord.waitFor(() => videoFor(w, r.messageId!), 20_000);
    await new Promise((res) => setTimeout(res, 1500));
    const copies = [...w.discord.messages.values()].filter((m) => m.messageReference?.message_id === r.messageId && m.attachments.length > 0);
    expect(copies).toHaveLength(1);
    expect(vid.content).toContain('seed `77`');
    expect(creates(w)).toBe(before + 1);
    // The progress message kept being edited by the new process.
    await w.discord.waitFor(() => w.discord.messages.get(r.messageId!)!.content.includes('✅ Done'));
  });
});

describe('register-commands', () => {
  it('registers /video, Animate and /video-admin with choices from the catalogue', async () => {
    const run = promisify(execFile);
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'commands/register-commands.ts', '--guild', IDS.guild], {
      cwd: join(import.meta.dirname, '../..'),
      env: {
        PATH: process.env.PATH ?? '',
        DISCORD_TOKEN: w.discord.token,
        DISCORD_APPLICATION_ID: w.discord.applicationId,
        DISCORD_API_URL: `${w.discord.url}/api`,
        AIMLAPI_KEY: DEFAULT_AIMLAPI_KEY,
      },
    });
    expect(stdout).toContain(`Registered 4 commands in server ${IDS.guild}: video, Animate, video-admin, video-usage`);
    const cmds = w.discord.commands.guild.get(IDS.guild) as { name: string; options?: { name: string; type: number; choices?: { value: unknown }[]; min_value?: number; max_value?: number }[] }[];
    const videoCmd = cmds.find((c) => c.name === 'video')!;
    const opt = (n: string) => videoCmd.options!.find((o) => o.name === n)!;
    expect(opt('model').choices!.map((c) => c.value)).toEqual(['lite', 'pro', 'pro-fast', '1.5-pro', '2.0', '2.0-fast', '2.0-mini', '2.5', '2.5-dreamina']);
    expect(opt('resolution').choices!.map((c) => c.value)).toEqual(['480p', '720p', '1080p', '4k']);
    // A range: each model's own lengths are checked when the command is used.
    expect(opt('duration')).toMatchObject({ min_value: 4, max_value: 30 });
    expect(opt('duration').choices).toBeUndefined();
    expect(opt('aspect_ratio').choices!.map((c) => c.value)).toContain('9:21');
    expect(opt('audio').type).toBe(5);
    expect(videoCmd.options!.filter((o) => o.type === 11).map((o) => o.name)).toEqual(['image', 'last_frame', 'reference_1', 'reference_2', 'reference_3']);
    expect(videoCmd.options!.length).toBeLessThanOrEqual(25);
    // Usable from a server install and a user install, in servers, the bot's DM and private channels; admin stays in servers.
    const installs = Object.fromEntries(cmds.map((c) => [c.name, [(c as { integration_types?: number[] }).integration_types, (c as { contexts?: number[] }).contexts]]));
    expect(installs).toEqual({
      video: [[0, 1], [0, 1, 2]],
      Animate: [[0, 1], [0, 1, 2]],
      'video-usage': [[0, 1], [0, 1, 2]],
      'video-admin': [[0], [0]],
    });
  });
});
