/**
 * Extend on Discord: the button on a delivered video opens a form ("What happens
 * next?" and, where the model takes a reference video, what to continue from);
 * its submit makes the input through the use cases, and the interaction handler
 * starts it like any video, in the channel or thread the video is in.
 */
import type { APIModalInteractionResponseCallbackComponent, APIModalInteractionResponseCallbackData, ButtonInteraction, ModalSubmitInteraction } from 'discord.js';
import { ComponentType, TextInputStyle } from 'discord.js';
import type { JobRecord } from '../../core/job.js';
import type { GenerationInput } from '../../core/request.js';
import { PROMPT_MAX_CHARS } from '../../core/request.js';
import type { ExtendFrom, ExtendOffer } from '../../usecases/extend.js';
import type { VideoUseCases } from '../../usecases/video-use-cases.js';

/** Modal custom ids: `sd:extend:<job id>`. */
export const extendModalId = (jobId: string) => `sd:extend:${jobId}`;

/** The form: the prompt, and the choice of frame or clip only when both are possible. */
export function extendModal(job: JobRecord, offer: ExtendOffer): APIModalInteractionResponseCallbackData {
  // With a choice, the choice says what it continues from.
  const from = offer.frame ? (offer.clip ? undefined : 'It starts from the last frame of this video.') : 'It continues from the whole clip, given to the model as @Video1.';
  const components: APIModalInteractionResponseCallbackComponent[] = [
    {
      type: ComponentType.Label,
      label: 'What happens next?',
      ...(from ? { description: from } : {}),
      component: {
        type: ComponentType.TextInput,
        custom_id: 'prompt',
        style: TextInputStyle.Paragraph,
        required: true,
        max_length: PROMPT_MAX_CHARS,
        placeholder: 'e.g. the fox leaps over the fence and runs into the woods',
      },
    },
  ];
  if (offer.frame && offer.clip) {
    components.push({
      type: ComponentType.Label,
      label: 'Continue from',
      description: 'The whole clip is given to the model as @Video1.',
      component: {
        type: ComponentType.StringSelect,
        custom_id: 'from',
        required: true,
        min_values: 1,
        max_values: 1,
        options: [
          { label: 'The last frame', value: 'frame', default: true },
          { label: 'The whole clip, as a reference video', value: 'clip' },
        ],
      },
    });
  }
  return { custom_id: extendModalId(job.id), title: 'Extend this video', components };
}

/** Opens the form for the video the button is on; refuses (ephemerally, by the caller) when it can't be extended. */
export async function openExtend(i: ButtonInteraction, useCases: VideoUseCases, jobId: string): Promise<void> {
  const job = await useCases.jobFor(jobId);
  await i.showModal(extendModal(job, await useCases.extendOffer(job)));
}

/** The input the submitted form asks for. */
export async function extendInput(i: ModalSubmitInteraction, useCases: VideoUseCases, jobId: string): Promise<GenerationInput> {
  const job = await useCases.jobFor(jobId);
  const from = i.fields.fields.has('from') ? i.fields.getStringSelectValues('from')[0] : undefined;
  return useCases.extend(job, { prompt: i.fields.getTextInputValue('prompt'), ...(from === 'clip' || from === 'frame' ? { from: from as ExtendFrom } : {}) });
}
