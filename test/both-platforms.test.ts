/**
 * Discord and Slack in one bot process: `npm start` starts whichever platforms
 * have credentials, and they share the store, the limits and the core.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDS, STRING, createWorld, videoFor } from './discord/bot-world.js';
import type { World } from './discord/bot-world.js';
import { createSlackSender } from './slack/standin/slack-signer.js';
import { startSlackStandin } from './slack/standin/slack-standin.js';
import type { SlackStandin } from './slack/standin/slack-standin.js';

let w: World;
let slack: SlackStandin;

beforeAll(async () => {
  slack = await startSlackStandin();
  w = await createWorld();
  await w.startBot({ SLACK_BOT_TOKEN: slack.botToken, SLACK_SIGNING_SECRET: 'both-secret', SLACK_API_URL: `${slack.url}/api/`, PORT: '0', SLACK_PROGRESS_INTERVAL_MS: '200' });
}, 60_000);
afterAll(async () => {
  await w?.close();
  await slack?.close();
});

describe('both platforms in one process', () => {
  it('serves Discord and Slack from one core and one store', async () => {
    const running = w.output().split('\n').find((l) => l.includes('seedance-bot is running'))!;
    expect(JSON.parse(running).platforms).toEqual({ discord: 'connected', slack: 'connected' });
    const port = /"port":(\d+)[^\n]*connected to Slack/.exec(w.output())![1];
    const send = createSlackSender({ url: `http://127.0.0.1:${port}`, signingSecret: 'both-secret', teamId: slack.teamId, responseUrlBase: slack.url });

    const { id } = w.discord.slashCommand({ name: 'video', options: [{ name: 'prompt', type: STRING, value: 'from discord' }] });
    const reply = await w.discord.waitFor(() => w.discord.interactionResponses.get(id));
    expect((await send.command({ command: '/video', text: 'from slack', userId: 'U0ALICE', channelId: 'C0GENERAL' })).status).toBe(200);

    await w.discord.waitFor(() => videoFor(w, reply.messageId!), 20_000);
    const progress = await slack.waitFor(() => slack.messages.find((m) => !m.threadTs && m.history[0]!.text.includes('from slack')), 20_000);
    await slack.waitFor(() => slack.messages.find((m) => m.threadTs === progress.ts && m.files.length > 0), 20_000);
    const prompts = w.emulator.requests.filter((r) => r.method === 'POST').map((r) => (r.body as { prompt: string }).prompt);
    expect(prompts.sort()).toEqual(['from discord', 'from slack']);
    expect(w.discord.messages.get(reply.messageId!)!.channelId).toBe(IDS.general);
  });
});
