/**
 * Global middleware, registered before every listener: turns requests away
 * while shutting down, and drops repeated deliveries (deliveryKey).
 */
import type { App } from '@slack/bolt';
import { userMessageFor } from '../../../core/errors.js';
import { RESTARTING } from '../../discord/discord-start-job.js';
import type { SlackListenerDeps } from './context.js';

/**
 * The id a delivery of this payload carries, for the payloads that can start a job:
 * an event's event_id, or an interaction's trigger_id (a slash command, shortcut,
 * button or modal submission; a re-sent copy carries the same one).
 */
export function deliveryKey(body: Record<string, unknown>): string | undefined {
  if (body.type === 'event_callback') {
    const e = body.event as { type?: string; subtype?: string; bot_id?: string; thread_ts?: string; channel_type?: string } | undefined;
    if (!e || typeof body.event_id !== 'string') return undefined;
    const candidate = e.type === 'app_mention' || (e.type === 'message' && !e.bot_id && (!e.subtype || e.subtype === 'file_share') && (e.thread_ts || e.channel_type === 'im'));
    return candidate ? `slack:event:${body.event_id}` : undefined;
  }
  if (typeof body.trigger_id === 'string') return `slack:${typeof body.command === 'string' ? 'command' : 'interaction'}:${body.trigger_id}`;
  if (typeof body.response_url === 'string') return `slack:response:${body.response_url}`;
  return undefined;
}

export function register(app: App, { service, log, accepting, tellPrivately }: SlackListenerDeps): void {
  // Slack re-sends an event or request whose ack was slow (x-slack-retry-num), and a
  // duplicated delivery carries the same id: each is recorded before any listener can
  // start a job, and a second copy is acknowledged and ignored.
  app.use(async (args) => {
    const { body, next, ack } = args;
    const respond = (args as { respond?: (m: { response_type: 'ephemeral'; text: string }) => Promise<unknown> }).respond;
    if (!accepting()) {
      // Shutting down: nothing new is started (an event was already acknowledged by Bolt).
      if (ack) await ack();
      await respond?.({ response_type: 'ephemeral', text: `:hourglass: ${RESTARTING}` }).catch(() => undefined);
      return;
    }
    const key = deliveryKey(body as Record<string, unknown>);
    if (!key) return next();
    let first: boolean;
    try {
      first = await service.firstDelivery(key);
    } catch (err) {
      // Nothing is started; the person is told (Bolt has already acknowledged an event).
      const text = `:warning: ${userMessageFor(err)}`;
      if (ack) await ack();
      if (respond) await respond({ response_type: 'ephemeral', text }).catch(() => undefined);
      else {
        const e = (body as { event?: { user?: string; channel?: string; thread_ts?: string; ts?: string } }).event;
        if (e?.user && e.channel) await tellPrivately({ channel: e.channel, user: e.user, text, ...(e.thread_ts ?? e.ts ? { thread: (e.thread_ts ?? e.ts)! } : {}) }).catch(() => undefined);
      }
      return;
    }
    if (first) return next();
    log.info({ event: key }, 'ignored a repeated Slack delivery');
    await ack?.();
  });
}
