/**
 * The App Home tab: published (views.publish) when someone opens it, with their
 * recent videos (prompt, model, status, a link to the message), their usage
 * today against the limit, a "Make a video" button that opens the same modal
 * as the shortcut, and, for workspace admins, the workspace's settings.
 */
import type { App, webApi } from '@slack/bolt';
import type { JobRecord } from '../../../core/job.js';
import { describeSettings, describeUsage } from '../../../usecases/video-use-cases.js';
import { escape } from '../slack-format.js';
import { videoModal } from '../slack-modal.js';
import { parseSlackRef } from '../slack-refs.js';
import type { SlackListenerDeps } from './context.js';

export const HOME_MAKE_VIDEO = 'home_make_video';
const RECENT = 5;

const STATUS_WORDS: Record<string, string> = {
  queued: ':hourglass: waiting',
  submitting: ':hourglass_flowing_sand: starting',
  running: ':clapper: rendering',
  completed: ':inbox_tray: fetching',
  delivering: ':outbox_tray: uploading',
  delivered: ':white_check_mark: delivered',
  failed: ':x: failed',
  timed_out: ':x: timed out',
  cancelled: ':octagonal_sign: cancelled',
  submit_unknown: ':grey_question: unknown',
};

const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });

export function register(app: App, deps: SlackListenerDeps): void {
  const { client, service, useCases, catalogue, log } = deps;

  /** A link to the job's video (or its progress message), when Slack gives one. */
  async function linkOf(job: JobRecord): Promise<string | undefined> {
    const ref = job.result?.messageRef ?? job.progressMessage;
    if (!ref) return undefined;
    try {
      const r = parseSlackRef(ref);
      if (!r.channel || !r.ts) return undefined;
      const res = await client.chat.getPermalink({ channel: r.channel, message_ts: r.ts });
      return res.permalink;
    } catch {
      return undefined;
    }
  }

  async function homeView(user: string, channel: string): Promise<webApi.HomeView> {
    const actor = deps.actor(user);
    const where = deps.where(channel);
    const [usage, recent, admin] = await Promise.all([useCases.usage(actor, where), service.recent('slack', user, RECENT), deps.isAdmin(user)]);
    const lines = await Promise.all(
      recent.map(async (job) => {
        const alias = catalogue.byId(job.request.modelId)?.alias ?? job.request.modelId;
        // Escaped like every prompt the bot shows in Slack: a `>` would end the link's label, a `<…>` would link or ping.
        const prompt = escape(job.request.prompt.replace(/\s+/g, ' ').slice(0, 80));
        const link = await linkOf(job);
        return `• ${link ? `<${link}|${prompt}>` : prompt} — ${alias}, ${STATUS_WORDS[job.status] ?? job.status}`;
      }),
    );
    const blocks: unknown[] = [
      { type: 'header', text: { type: 'plain_text', text: 'Seedance videos' } },
      { type: 'actions', elements: [{ type: 'button', action_id: HOME_MAKE_VIDEO, style: 'primary', text: { type: 'plain_text', text: 'Make a video' } }] },
      section(`*Today*\n${describeUsage(usage)}`),
      section(`*Your recent videos*\n${lines.length ? lines.join('\n') : 'None yet. Press *Make a video*, use `/video`, or mention me with a prompt.'}`),
    ];
    if (admin) {
      const settings = await useCases.admin(actor, where, { kind: 'show' });
      blocks.push({ type: 'divider' }, section(`*Workspace settings* (change them with \`/video-admin\`)\n${describeSettings(settings, where.place?.label ?? 'this workspace')}`));
    }
    return { type: 'home', blocks } as webApi.HomeView;
  }

  app.event('app_home_opened', async ({ event }) => {
    if (event.tab !== 'home') return;
    try {
      await client.views.publish({ user_id: event.user, view: await homeView(event.user, event.channel) });
    } catch (err) {
      log.warn({ err }, 'could not publish the Home tab');
    }
  });

  app.action(HOME_MAKE_VIDEO, async ({ ack, body }) => {
    await ack();
    const b = body as { trigger_id?: string; user: { id: string } };
    if (!b.trigger_id) return;
    await client.views
      .open({ trigger_id: b.trigger_id, view: videoModal(catalogue, { withImage: true, withConversation: true, metadata: { kind: 'global' } }) as webApi.View })
      .catch((err: unknown) => log.warn({ err }, 'could not open the modal from the Home tab'));
  });
}
