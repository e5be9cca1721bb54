/**
 * Extend on Slack: the button on a delivered video opens a form ("What happens
 * next?" and, where the model takes a reference video, what to continue from).
 * Its submission is checked before the ack, so a refusal shows inline in the
 * form; the new clip starts in the thread of the original.
 */
import type { App, webApi } from '@slack/bolt';
import type { JobRecord } from '../../../core/job.js';
import { PROMPT_MAX_CHARS } from '../../../core/request.js';
import type { ExtendFrom, ExtendOffer } from '../../../usecases/extend.js';
import type { VideoUseCases } from '../../../usecases/video-use-cases.js';
import type { ViewState } from '../slack-modal.js';
import { CALLBACKS } from '../slack-refs.js';
import type { SlackStart } from '../slack-start-job.js';
import type { SlackListenerDeps } from './context.js';
import { inlineErrors, startChecked } from './context.js';

const plain = (text: string) => ({ type: 'plain_text', text, emoji: true });
const FRAME = { text: plain('The last frame'), value: 'frame' };
const CLIP = { text: plain('The whole clip, as a reference video'), value: 'clip' };

/** The form: the prompt, and the choice of frame or clip only when both are possible. */
export function extendView(job: JobRecord, offer: ExtendOffer) {
  // With a choice, the choice says what it continues from.
  const from = offer.frame ? (offer.clip ? undefined : 'It starts from the last frame of this video.') : 'It continues from the whole clip, given to the model as @Video1.';
  const blocks: unknown[] = [
    {
      type: 'input',
      block_id: 'prompt',
      label: plain('What happens next?'),
      ...(from ? { hint: plain(from) } : {}),
      element: { type: 'plain_text_input', action_id: 'value', multiline: true, max_length: PROMPT_MAX_CHARS, placeholder: plain('e.g. the fox leaps over the fence and runs into the woods') },
    },
  ];
  if (offer.frame && offer.clip) {
    blocks.push({
      type: 'input',
      block_id: 'from',
      label: plain('Continue from'),
      hint: plain('The whole clip is given to the model as @Video1.'),
      element: { type: 'radio_buttons', action_id: 'value', initial_option: FRAME, options: [FRAME, CLIP] },
    });
  }
  return {
    type: 'modal',
    callback_id: CALLBACKS.extendModal,
    title: plain('Extend this video'),
    submit: plain('Extend'),
    close: plain('Cancel'),
    private_metadata: JSON.stringify({ jobId: job.id }),
    blocks,
  };
}

/** Opens the form from the Extend button, while its trigger_id is valid; throws the refusal when the video can't be extended. */
export async function openExtendModal(client: webApi.WebClient, useCases: VideoUseCases, triggerId: string, job: JobRecord): Promise<void> {
  const offer = await useCases.extendOffer(job);
  await client.views.open({ trigger_id: triggerId, view: extendView(job, offer) as webApi.View });
}

export function register(app: App, { useCases, jobFor, threadOf, preflight, start, tellPrivately }: SlackListenerDeps): void {
  app.view(CALLBACKS.extendModal, async ({ ack, view, body }) => {
    const { jobId } = JSON.parse(view.private_metadata || '{}') as { jobId?: string };
    const values = view.state.values as ViewState;
    const choice = values.from?.value?.selected_option?.value;
    const from: ExtendFrom | undefined = choice === 'clip' || choice === 'frame' ? choice : undefined;
    const user = body.user.id;
    let s: SlackStart;
    try {
      const job = await jobFor(jobId ?? '');
      const input = await useCases.extend(job, { prompt: values.prompt?.value?.value ?? '', ...(from ? { from } : {}) });
      s = { input, userId: user, ...threadOf(job), refuse: async () => undefined };
      await preflight(s);
    } catch (err) {
      // Shown inline; nothing is submitted.
      const withChoice = Boolean(values.from) || Boolean(view.blocks?.some((b) => b.block_id === 'from'));
      await ack(inlineErrors(err, (m) => (withChoice && /reference video|@video/i.test(m) ? 'from' : 'prompt')));
      return;
    }
    await ack();
    await startChecked({ start, tellPrivately }, s, user);
  });
}
