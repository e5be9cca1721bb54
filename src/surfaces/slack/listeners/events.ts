/**
 * Events: mentions (app_mention), messages to the bot in its DM, and image
 * replies in the thread of one of our videos (message), all handled by
 * fromMessage; a reply without an image in such a thread makes that video again.
 */
import type { App } from '@slack/bolt';
import { unescape } from '../slack-format.js';
import { userMessageFor } from '../../../core/errors.js';
import { parseInlineFlags } from '../../common/inline-flags.js';
import { splitImages } from '../../common/message-images.js';
import type { SlackFile } from '../slack-files.js';
import { isImageFile } from '../slack-files.js';
import { threadJobKey } from '../slack-surface.js';
import type { SlackListenerDeps } from './context.js';
import { SLACK_USAGE } from './context.js';

type MessageEvent = { text?: string; user?: string; channel: string; ts: string; thread_ts?: string; files?: SlackFile[] };

export function register(app: App, { catalogue, kv, start, rerun, jobFor, botUserId, tellPrivately }: SlackListenerDeps): void {
  async function fromMessage(e: MessageEvent) {
    if (!e.user) return;
    const thread = e.thread_ts ?? e.ts;
    const refuse = (text: string) => tellPrivately({ channel: e.channel, user: e.user!, text: `:warning: ${text}`, thread });
    // Mentions are removed while still escaped; then the text is as typed (Slack sends &, < and > as entities).
    const text = unescape((e.text ?? '').replace(new RegExp(`<@${botUserId()}>`, 'g'), ' '));
    const parsed = parseInlineFlags(text, catalogue.aliases());
    if (parsed.problems.length) return refuse(`${parsed.problems.join('; ')}. ${SLACK_USAGE}`);
    const images = e.files?.filter(isImageFile) ?? [];
    // One image is the first frame; several are reference images (@Image1…) where a model takes them.
    const { image: imageFile, references: referenceFiles } = splitImages(images, catalogue);
    const previousId = e.thread_ts ? await kv.get<string>(threadJobKey(e.channel, e.thread_ts)) : undefined;
    try {
      if (!images.length && previousId) {
        const again = rerun(await jobFor(previousId), parsed.prompt || undefined);
        return void (await start({ ...again, input: { ...again.input, ...parsed.options }, userId: e.user, channel: e.channel, thread, refuse }));
      }
      if (!parsed.prompt && !images.length) return refuse(SLACK_USAGE);
      await start({ input: { prompt: parsed.prompt, ...parsed.options }, ...(imageFile ? { imageFile } : {}), ...(referenceFiles ? { referenceFiles } : {}), userId: e.user, channel: e.channel, thread, refuse });
    } catch (err) {
      await refuse(userMessageFor(err));
    }
  }

  app.event('app_mention', async ({ event }) => {
    await fromMessage(event as MessageEvent);
  });

  // A reply with an image in the thread of one of our videos, without a mention (mentions come as app_mention).
  app.message(async ({ message }) => {
    const m = message as MessageEvent & { subtype?: string; bot_id?: string; channel_type?: string };
    if (m.bot_id || (m.subtype && m.subtype !== 'file_share')) return;
    // A message to the bot in its DM (the Messages tab): a prompt, an image, or both, makes a video there.
    if (m.channel_type === 'im') return fromMessage(m);
    if (!m.thread_ts) return;
    if (botUserId() && m.text?.includes(`<@${botUserId()}>`)) return;
    if (!m.files?.some(isImageFile)) return;
    if (!(await kv.get<string>(threadJobKey(m.channel, m.thread_ts)))) return;
    await fromMessage(m);
  });
}
