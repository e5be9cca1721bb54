// The App Home tab and the bot's DM in the stand-in: views.publish (Slack's contract), app_home_opened, buttons on a
// Home view, and message events in a D… channel, against an unmodified @slack/bolt App.
import type { BlockAction, ButtonAction, webApi } from '@slack/bolt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rejectionOf } from '../../helpers/rejection.js';
import { startHarness } from './bolt-harness.js';
import type { BoltHarness } from './bolt-harness.js';

const platformError = (e: unknown): string | undefined => (e as webApi.WebAPIPlatformError).data?.error;
const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });
const home = (...texts: string[]) => ({ type: 'home' as const, blocks: texts.map(section) });

let h: BoltHarness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.stop();
  // Bolt swallows listener exceptions (including failed expects inside listeners): surface them here.
  expect(h.errors).toEqual([]);
});

describe('views.publish', () => {
  it('publishes a Home view per user, answering {ok, view:{id, type, blocks, hash}} with one view id per user', async () => {
    const { client } = h.app;
    const first = await client.views.publish({ user_id: 'U0ALICE', view: home('*Hello* alice') as webApi.HomeView });
    expect(first).toMatchObject({ ok: true, view: { type: 'home', team_id: 'T0000TEST', blocks: [section('*Hello* alice')], app_id: 'A0STANDIN', bot_id: 'B0BOT0001' } });
    const id = first.view!.id!;
    expect(id).toMatch(/^V/);
    const second = await client.views.publish({ user_id: 'U0ALICE', view: home('updated') as webApi.HomeView, hash: first.view!.hash! });
    expect(second.view!.id).toBe(id);
    expect(second.view!.hash).not.toBe(first.view!.hash);
    await client.views.publish({ user_id: 'U0BOB', view: home('bob here') as webApi.HomeView });

    expect(h.standin.homeViews.map((v) => v.userId)).toEqual(['U0ALICE', 'U0ALICE', 'U0BOB']);
    expect(h.standin.homeView('U0ALICE')).toMatchObject({ userId: 'U0ALICE', viewId: id, hash: second.view!.hash, view: { type: 'home' } });
    expect(h.standin.homeText('U0ALICE')).toBe('updated');
    expect(h.standin.homeView('U0BOB')!.viewId).not.toBe(id);
    expect(h.standin.homeView('U0ADMIN')).toBeUndefined();
    expect(h.standin.homeText('U0ADMIN')).toBe('');
    // The published view is a view like any other: views.update takes its id.
    const updated = await client.views.update({ view_id: id, view: home('via update') as webApi.HomeView });
    expect(updated.view).toMatchObject({ id, type: 'home' });
  });

  it("refuses what Slack refuses: a modal, more than 100 blocks, a missing or unknown user, a stale hash, a Home tab that's off", async () => {
    const { client } = h.app;
    const modal = { type: 'modal', title: { type: 'plain_text', text: 'Nope' }, blocks: [] } as unknown as webApi.HomeView;
    expect(platformError(await rejectionOf(client.views.publish({ user_id: 'U0ALICE', view: modal }), Error))).toBe('invalid_arguments');
    const tooMany = { type: 'home', blocks: Array.from({ length: 101 }, (_, i) => section(`line ${i}`)) } as webApi.HomeView;
    const many = await rejectionOf(client.views.publish({ user_id: 'U0ALICE', view: tooMany }), Error);
    expect(platformError(many)).toBe('invalid_blocks');
    expect(JSON.stringify((many as webApi.WebAPIPlatformError).data)).toContain('no more than 100 items allowed');
    // Exactly 100 is fine.
    await client.views.publish({ user_id: 'U0ALICE', view: { type: 'home', blocks: tooMany.blocks.slice(0, 100) } as webApi.HomeView });
    expect(platformError(await rejectionOf(client.views.publish({ user_id: '', view: home('x') as webApi.HomeView }), Error))).toBe('invalid_arguments');
    expect(platformError(await rejectionOf(client.views.publish({ user_id: 'U0NOBODY', view: home('x') as webApi.HomeView }), Error))).toBe('user_not_found');
    expect(platformError(await rejectionOf(client.views.publish({ user_id: 'U0ALICE', view: home('x') as webApi.HomeView, hash: '1.stale' }), Error))).toBe('hash_conflict');
    const huge = home('x'.repeat(2900), ...Array.from({ length: 90 }, () => 'y'.repeat(2900)));
    expect(platformError(await rejectionOf(client.views.publish({ user_id: 'U0ALICE', view: huge as webApi.HomeView }), Error))).toBe('view_too_large');
    h.standin.setHomeTabEnabled(false);
    expect(platformError(await rejectionOf(client.views.publish({ user_id: 'U0ALICE', view: home('x') as webApi.HomeView }), Error))).toBe('not_enabled');
    // Only the successful publish was recorded; views.open takes modals only.
    expect(h.standin.homeViews).toHaveLength(1);
    expect(platformError(await rejectionOf(client.views.open({ trigger_id: '1.2.abc', view: home('x') as unknown as webApi.ModalView }), Error))).toBe('invalid_arguments');
  });
});

describe('app_home_opened and buttons on the Home tab', () => {
  it("delivers app_home_opened with {type, user, channel, tab, event_ts}; the channel is the user's DM", async () => {
    const seen: Record<string, unknown>[] = [];
    h.app.event('app_home_opened', async ({ event, client }) => {
      seen.push(event as unknown as Record<string, unknown>);
      if (event.tab === 'home') await client.views.publish({ user_id: event.user, view: home(`Hi <@${event.user}>`) as webApi.HomeView });
    });
    const dm = h.standin.dmChannel('U0BOB');
    expect(dm).toMatch(/^D/);
    expect(h.standin.dmChannel('U0BOB')).toBe(dm);
    expect(h.standin.dmChannel('U0ALICE')).toBe('D0ALICE');
    const res = await h.sender.event(h.sender.appHomeOpened({ userId: 'U0BOB', channelId: dm }));
    expect(res.status).toBe(200);
    await h.standin.waitFor(() => h.standin.homeView('U0BOB'));
    expect(h.standin.homeText('U0BOB')).toBe('Hi <@U0BOB>');
    expect(seen[0]).toEqual({ type: 'app_home_opened', user: 'U0BOB', channel: dm, tab: 'home', event_ts: expect.stringMatching(/^\d+\.\d{6}$/) });
    // The Messages tab: no publish; a later opening echoes the published view.
    await h.sender.event(h.sender.appHomeOpened({ userId: 'U0BOB', tab: 'messages' }));
    await h.standin.waitFor(() => seen.length === 2);
    expect(seen[1]).toMatchObject({ tab: 'messages', channel: dm });
    const published = h.standin.homeView('U0BOB')!;
    await h.sender.event(h.sender.appHomeOpened({ userId: 'U0BOB', view: { id: published.viewId, type: 'home' } }));
    await h.standin.waitFor(() => seen.length === 3 && h.standin.homeViews.length === 2);
    expect(seen[2]).toMatchObject({ view: { id: published.viewId } });
    expect(h.standin.homeView('U0BOB')!.viewId).toBe(published.viewId);
  });

  it('delivers a button on the Home view with a view container and a trigger_id that opens a modal', async () => {
    const seen: BlockAction<ButtonAction>[] = [];
    h.app.action('home_button', async ({ ack, body, client }) => {
      await ack();
      seen.push(body as BlockAction<ButtonAction>);
      await client.views.open({ trigger_id: (body as BlockAction).trigger_id, view: { type: 'modal', title: { type: 'plain_text', text: 'From Home' }, blocks: [] } });
    });
    const published = await h.app.client.views.publish({ user_id: 'U0ALICE', view: home('x') as webApi.HomeView });
    const payload = h.sender.viewBlockAction({ actionId: 'home_button', userId: 'U0ALICE', viewId: published.view!.id!, blocks: [section('x')] });
    const res = await h.sender.interactive(payload);
    expect(res.status).toBe(200);
    const opened = await h.standin.waitFor(() => h.standin.views[0]);
    expect(opened.triggerId).toBe(payload.trigger_id);
    expect(seen[0]).toMatchObject({ type: 'block_actions', user: { id: 'U0ALICE' }, container: { type: 'view', view_id: published.view!.id }, view: { id: published.view!.id, type: 'home' } });
    expect(seen[0]).not.toHaveProperty('channel');
    expect(seen[0]).not.toHaveProperty('response_url');
    expect(seen[0]!.actions[0]).toMatchObject({ action_id: 'home_button', type: 'button' });
  });
});

describe("the bot's DM", () => {
  it("delivers a message in a user's DM with channel_type 'im', and the bot can answer there", async () => {
    const seen: Record<string, unknown>[] = [];
    h.app.message(async ({ message, client }) => {
      const m = message as unknown as { channel: string; ts: string; channel_type: string };
      seen.push(m as unknown as Record<string, unknown>);
      await client.chat.postMessage({ channel: m.channel, thread_ts: m.ts, text: 'got it' });
    });
    const dm = h.standin.dmChannel('U0ADMIN');
    const asked = h.standin.addUserMessage({ channel: dm, user: 'U0ADMIN', text: 'a cat on a boat' });
    await h.sender.event(h.sender.message({ text: 'a cat on a boat', userId: 'U0ADMIN', channelId: dm, ts: asked.ts }));
    const reply = await h.standin.waitFor(() => h.standin.messages.find((m) => m.text === 'got it'));
    expect(seen[0]).toMatchObject({ type: 'message', channel: dm, channel_type: 'im', user: 'U0ADMIN', text: 'a cat on a boat' });
    expect(seen[0]).not.toHaveProperty('subtype');
    expect(reply).toMatchObject({ channel: dm, threadTs: asked.ts, user: 'U0BOT0001' });
    // A post to the user id lands in the same DM, as Slack does.
    const viaUser = await h.app.client.chat.postMessage({ channel: 'U0ADMIN', text: 'hello' });
    expect(viaUser.channel).toBe(dm);
    expect(h.standin.visibleMessages(dm).map((m) => m.text)).toEqual(['a cat on a boat', 'got it', 'hello']);
  });
});
