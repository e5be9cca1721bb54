/**
 * The video modal's submission (from either shortcut or the "Animate again"
 * button): checked before the ack, so problems show inline on their fields.
 */
import type { App } from '@slack/bolt';
import type { SlackFile } from '../slack-files.js';
import { lookUpSlackFile } from '../slack-files.js';
import type { ModalMetadata, ViewState } from '../slack-modal.js';
import { MODAL_BLOCKS, fieldFor, readModal } from '../slack-modal.js';
import { CALLBACKS } from '../slack-refs.js';
import type { SlackStart } from '../slack-start-job.js';

import type { SlackListenerDeps } from './context.js';
import { inlineErrors, startChecked } from './context.js';

export function register(app: App, { client, start, preflight, rerun, jobFor, threadOf, tellPrivately }: SlackListenerDeps): void {
  app.view(CALLBACKS.modal, async ({ ack, view, body }) => {
    const meta = JSON.parse(view.private_metadata || '{"kind":"global"}') as ModalMetadata;
    const form = readModal(view.state.values as ViewState);
    const user = body.user.id;
    let s: SlackStart;
    try {
      // A modal opened before the metadata held ids only still carries the whole file.
      if (meta.kind === 'animate') {
        const where = { userId: user, channel: meta.channel, thread: meta.thread, refuse: async () => undefined };
        // Looked up side by side: the answer to Slack is due within 3 s.
        if (meta.referenceIds?.length) s = { input: form.input, referenceFiles: await Promise.all(meta.referenceIds.map((id, n) => lookUpSlackFile(client, id, `reference image ${n + 1}`))), ...where };
        else s = { input: form.input, imageFile: (meta as { file?: SlackFile }).file ?? (await lookUpSlackFile(client, meta.fileId, 'image')), ...where };
      }
      else if (meta.kind === 'again') s = { ...rerun(await jobFor(meta.jobId), form.input.prompt), userId: user, ...threadOf(await jobFor(meta.jobId)), refuse: async () => undefined };
      else s = { input: form.input, ...(form.imageFile ? { imageFile: form.imageFile } : {}), ...(form.referenceFiles ? { referenceFiles: form.referenceFiles } : {}), userId: user, channel: form.conversation ?? user, refuse: async () => undefined };
      await preflight(s);
    } catch (err) {
      // Shown inline, on the field it is about; nothing is submitted.
      const blocks = view.blocks?.length ? view.blocks.map((b) => b.block_id ?? '') : MODAL_BLOCKS;
      await ack(inlineErrors(err, (m) => fieldFor(m, blocks)));
      return;
    }
    await ack();
    await startChecked({ start, tellPrivately }, s, user);
  });
}
