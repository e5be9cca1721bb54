/**
 * Shortcuts: the global "Make a video" one and the message one that animates
 * a message's image. Both open the modal at once, while the trigger_id is valid.
 */
import type { App, webApi } from '@slack/bolt';
import type { SlackFile } from '../slack-files.js';
import { isImageFile } from '../slack-files.js';
import { splitImages } from '../../common/message-images.js';
import type { ModalMetadata } from '../slack-modal.js';
import { videoModal } from '../slack-modal.js';
import { CALLBACKS } from '../slack-refs.js';
import { tellPrivately } from '../slack-start-job.js';
import type { SlackListenerDeps } from './context.js';

export function register(app: App, { catalogue, log }: SlackListenerDeps): void {
  app.shortcut(CALLBACKS.globalShortcut, async ({ ack, shortcut, client }) => {
    await ack();
    try {
      await client.views.open({ trigger_id: shortcut.trigger_id, view: videoModal(catalogue, { withImage: true, withConversation: true, metadata: { kind: 'global' } }) as webApi.View });
    } catch (err) {
      // A global shortcut has no conversation: the app's DM with the person says what happened.
      const code = (err as { data?: { error?: string } }).data?.error ?? (err as Error).message;
      log.warn({ err, code }, 'could not open the modal');
      await client.chat
        .postMessage({ channel: shortcut.user.id, text: `:warning: I couldn't open the video form (Slack said \`${code}\`). Please try the shortcut again.` })
        .catch((e: unknown) => log.warn({ err: e }, 'could not tell the user the form failed'));
    }
  });

  app.shortcut(CALLBACKS.messageShortcut, async ({ ack, shortcut, client }) => {
    await ack();
    if (shortcut.type !== 'message_action') return;
    const message = shortcut.message as { ts: string; thread_ts?: string; text?: string; files?: SlackFile[] };
    const files = (message.files ?? []).filter((f) => isImageFile(f) && f.id);
    const tell = (text: string) => tellPrivately(client, { channel: shortcut.channel.id, user: shortcut.user.id, text, ...(message.thread_ts ? { thread: message.thread_ts } : {}) });
    if (!files.length) return tell(':warning: That message has no image to animate.');
    // One image is the first frame; several are reference images where a model takes them.
    const { references } = splitImages(files, catalogue);
    // Ids only (Slack's limit is 3,000 characters; a file object can be longer): the files are looked up on submit.
    const metadata: ModalMetadata = {
      kind: 'animate',
      channel: shortcut.channel.id,
      thread: message.thread_ts ?? message.ts,
      fileId: files[0]!.id!,
      ...(references ? { referenceIds: references.map((f) => f.id!) } : {}),
    };
    const title = references ? 'Animate these images' : 'Animate this image';
    try {
      await client.views.open({ trigger_id: shortcut.trigger_id, view: videoModal(catalogue, { prompt: message.text, withImage: false, withConversation: false, metadata, title }) as webApi.View });
    } catch (err) {
      const code = (err as { data?: { error?: string } }).data?.error ?? (err as Error).message;
      log.warn({ err, code }, 'could not open the modal');
      await tell(`:warning: I couldn't open the form (Slack said \`${code}\`). Please try again.`);
    }
  });
}
