/**
 * The buttons on a video's message (action ids sd_*): cancel and delete (the
 * requester or a workspace admin only), reroll, and "Animate again" and Extend (forms).
 */
import type { App, webApi } from '@slack/bolt';
import { UserFacingError, userMessageFor } from '../../../core/errors.js';
import { videoModal } from '../slack-modal.js';
import { ACTIONS } from '../slack-refs.js';
import { tellPrivately } from '../slack-start-job.js';
import { jobFileKey } from '../slack-surface.js';
import type { SlackListenerDeps } from './context.js';
import { openExtendModal } from './extend.js';

export function register(app: App, deps: SlackListenerDeps): void {
  const { useCases, catalogue, kv, log, start, rerun, jobFor, threadOf } = deps;
  app.action(/^sd_/, async ({ ack, action, body, client }) => {
    await ack();
    const a = action as { action_id: string; value?: string };
    const b = body as { user: { id: string }; channel?: { id: string }; message?: { ts: string; thread_ts?: string }; trigger_id?: string };
    const user = b.user.id;
    const channel = b.channel?.id ?? user;
    const thread = b.message?.thread_ts ?? b.message?.ts;
    const refuse = (text: string) => tellPrivately(client, { channel, user, text: `:warning: ${text}`, ...(thread ? { thread } : {}) });
    try {
      const job = await jobFor(a.value ?? '');
      const actor = deps.actor(user);
      const where = deps.where(channel);
      switch (a.action_id) {
        case ACTIONS.cancel:
          await useCases.cancel(actor, where, job.id);
          await tellPrivately(client, { channel, user, text: 'Stopped. The provider may still finish the job and charge for it.', ...(thread ? { thread } : {}) });
          return;
        case ACTIONS.delete: {
          await useCases.authorize(actor, where, job.id);
          const fileId = await kv.get<string>(jobFileKey(job.id));
          if (fileId && fileId !== 'unknown') await client.files.delete({ file: fileId }).catch((err: unknown) => log.warn({ err }, 'file delete failed'));
          if (b.message) await client.chat.delete({ channel, ts: b.message.ts });
          return;
        }
        case ACTIONS.reroll:
          await start({ ...rerun(job), userId: user, ...threadOf(job), refuse });
          return;
        case ACTIONS.extend:
          await openExtendModal(client, useCases, b.trigger_id!, job);
          return;
        case ACTIONS.again:
          await client.views.open({
            trigger_id: b.trigger_id!,
            view: videoModal(catalogue, { prompt: job.request.prompt, withImage: false, withConversation: false, metadata: { kind: 'again', jobId: job.id }, title: 'Animate again' }) as webApi.View,
          });
          return;
      }
    } catch (err) {
      if (!(err instanceof UserFacingError)) log.error({ err }, 'button failed');
      await refuse(userMessageFor(err));
    }
  });
}
