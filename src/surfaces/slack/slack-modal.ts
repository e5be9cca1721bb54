/**
 * The "Make a video" modal, built from the model catalogue, and the reading of
 * its submitted state. Validation problems are mapped back onto the fields so
 * Slack shows them inline.
 */
import type { Catalogue } from '../../core/catalogue.js';
import { PROMPT_MAX_CHARS } from '../../core/request.js';
import type { GenerationInput } from '../../core/request.js';
import type { SlackFile } from './slack-files.js';
import { CALLBACKS } from './slack-refs.js';

export type ModalMetadata =
  | { kind: 'global' }
  // Ids only: Slack refuses private_metadata over 3,000 characters, and a file object can be longer (the file is looked up on submit).
  | { kind: 'animate'; channel: string; thread: string; fileId: string }
  | { kind: 'again'; jobId: string };

const plain = (text: string) => ({ type: 'plain_text', text, emoji: true });
const option = (value: string, label = value) => ({ text: plain(label), value });

function select(block: string, label: string, values: readonly (string | number)[], format: (v: string | number) => string = String, hint?: string) {
  return {
    type: 'input',
    block_id: block,
    optional: true,
    label: plain(label),
    ...(hint ? { hint: plain(hint) } : {}),
    element: { type: 'static_select', action_id: 'value', placeholder: plain('Default'), options: values.map((v) => option(String(v), format(v))) },
  };
}

export function videoModal(cat: Catalogue, o: { prompt?: string; withImage: boolean; withConversation: boolean; metadata: ModalMetadata; title?: string }) {
  const blocks: unknown[] = [
    {
      type: 'input',
      block_id: 'prompt',
      label: plain('What should happen?'),
      element: {
        type: 'plain_text_input',
        action_id: 'value',
        multiline: true,
        max_length: PROMPT_MAX_CHARS,
        placeholder: plain('e.g. a fox running through fresh snow at dawn, slow motion'),
        ...(o.prompt?.trim() ? { initial_value: o.prompt.trim().slice(0, PROMPT_MAX_CHARS) } : {}),
      },
    },
  ];
  if (o.withImage) {
    blocks.push({
      type: 'input',
      block_id: 'image',
      optional: true,
      label: plain('Image to animate (optional)'),
      element: { type: 'file_input', action_id: 'value', filetypes: ['jpg', 'jpeg', 'png', 'webp', 'gif', 'bmp', 'tiff'], max_files: 1 },
    });
  }
  blocks.push(select('model', 'Model', cat.aliases()));
  blocks.push(select('resolution', 'Resolution', cat.allResolutions()));
  blocks.push(select('duration', 'Length', cat.allDurations(), (d) => `${d} seconds`));
  if (cat.allAspectRatios().length && o.metadata.kind !== 'animate') {
    blocks.push(select('ratio', 'Aspect ratio', cat.allAspectRatios(), String, 'Text-to-video only: with an image, the image decides.'));
  }
  blocks.push({ type: 'input', block_id: 'seed', optional: true, label: plain('Seed'), element: { type: 'number_input', action_id: 'value', is_decimal_allowed: false } });
  blocks.push({ type: 'input', block_id: 'flags', optional: true, label: plain('Options'), element: { type: 'checkboxes', action_id: 'value', options: [option('fixed_camera', 'Keep the camera still')] } });
  if (o.withConversation) {
    blocks.push({
      type: 'input',
      block_id: 'conversation',
      label: plain('Post it in'),
      element: { type: 'conversations_select', action_id: 'value', default_to_current_conversation: true, filter: { include: ['public', 'private', 'im', 'mpim'], exclude_bot_users: true } },
    });
  }
  return {
    type: 'modal',
    callback_id: CALLBACKS.modal,
    title: plain(o.title ?? 'Make a video'),
    submit: plain('Make it'),
    close: plain('Cancel'),
    private_metadata: JSON.stringify(o.metadata),
    blocks,
  };
}

type StateValue = { type?: string; value?: string | null; selected_option?: { value: string } | null; selected_options?: { value: string }[]; selected_conversation?: string | null; files?: SlackFile[] };
export type ViewState = Record<string, Record<string, StateValue>>;

export interface ModalInput {
  input: Omit<GenerationInput, 'image' | 'lastFrame'>;
  imageFile?: SlackFile;
  conversation?: string;
}

export function readModal(values: ViewState): ModalInput {
  const v = (block: string) => values[block]?.value;
  const input: ModalInput['input'] = { prompt: v('prompt')?.value ?? '' };
  const pick = (block: string) => v(block)?.selected_option?.value;
  if (pick('model')) input.model = pick('model');
  if (pick('resolution')) input.resolution = pick('resolution');
  if (pick('duration')) input.duration = pick('duration');
  if (pick('ratio')) input.aspectRatio = pick('ratio');
  const seed = v('seed')?.value;
  if (seed !== undefined && seed !== null && seed !== '') input.seed = seed;
  if (v('flags')?.selected_options?.some((o) => o.value === 'fixed_camera')) input.fixedCamera = true;
  const file = v('image')?.files?.[0];
  const conversation = v('conversation')?.selected_conversation ?? undefined;
  return { input, ...(file ? { imageFile: file } : {}), ...(conversation ? { conversation } : {}) };
}

/** Every block id the modal can have. */
export const MODAL_BLOCKS = ['prompt', 'image', 'model', 'resolution', 'duration', 'ratio', 'seed', 'flags', 'conversation'];

/** Which field a validation message belongs to, for inline errors. */
export function fieldFor(message: string, blocks: readonly string[]): string {
  const rules: [RegExp, string][] = [
    [/aspect ratio/i, 'ratio'],
    [/seed/i, 'seed'],
    [/resolution|renders at most/i, 'resolution'],
    [/duration/i, 'duration'],
    [/frame|image/i, 'image'],
    [/model|needs an? .* key/i, 'model'],
  ];
  for (const [re, block] of rules) if (re.test(message) && blocks.includes(block)) return block;
  return 'prompt';
}
