/**
 * The "Make a video" modal, built from the model catalogue, and the reading of
 * its submitted state. Validation problems are mapped back onto the fields so
 * Slack shows them inline.
 */
import type { Catalogue } from '../../core/catalogue.js';
import { PROMPT_MAX_CHARS } from '../../core/request.js';
import type { GenerationInput } from '../../core/request.js';
import { lengthsByModel, modelChoiceName } from '../common/model-facts.js';
import type { SlackFile } from './slack-files.js';
import { CALLBACKS } from './slack-refs.js';

export type ModalMetadata =
  | { kind: 'global' }
  // Ids only: Slack refuses private_metadata over 3,000 characters, and a file object can be longer (the file is looked up on submit).
  | { kind: 'animate'; channel: string; thread: string; fileId: string; /** Several images: reference images, looked up on submit. */ referenceIds?: string[] }
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

/** The Sound box's one option. */
const SOUND_ON = 'on';

/** Up to 10 files (Slack's limit): a first frame, or reference images on models that take them. */
const maxModalFiles = (cat: Catalogue) => Math.min(10, 1 + cat.maxReferenceImages());

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
    const maxFiles = maxModalFiles(cat);
    blocks.push({
      type: 'input',
      block_id: 'image',
      optional: true,
      label: plain(maxFiles > 1 ? 'Images (optional)' : 'Image to animate (optional)'),
      ...(maxFiles > 1 ? { hint: plain('One image is the first frame. Several are reference images: name them @Image1, @Image2… in the prompt.') } : {}),
      element: { type: 'file_input', action_id: 'value', filetypes: ['jpg', 'jpeg', 'png', 'webp', 'gif', 'bmp', 'tiff'], max_files: maxFiles },
    });
  }
  blocks.push(select('model', 'Model', cat.aliases(), (a) => modelChoiceName(cat, String(a))));
  blocks.push(select('resolution', 'Resolution', cat.allResolutions()));
  // A number, not a list: the lengths run from 4 to 30 s, and each model takes its own (the hint says which).
  const lengths = cat.durationBounds();
  blocks.push({
    type: 'input',
    block_id: 'duration',
    optional: true,
    label: plain('Length (seconds)'),
    hint: plain(lengthsByModel(cat.models)),
    element: { type: 'number_input', action_id: 'value', is_decimal_allowed: false, min_value: String(lengths.min), max_value: String(lengths.max), placeholder: plain('Default') },
  });
  // With one image, the image decides the shape; reference images don't.
  const shapedByImage = o.metadata.kind === 'animate' && !o.metadata.referenceIds?.length;
  if (cat.allAspectRatios().length && !shapedByImage) {
    blocks.push(select('ratio', 'Aspect ratio', cat.allAspectRatios(), String, 'Text-to-video only: with an image, the image decides.'));
  }
  blocks.push({ type: 'input', block_id: 'seed', optional: true, label: plain('Seed'), element: { type: 'number_input', action_id: 'value', is_decimal_allowed: false } });
  blocks.push({ type: 'input', block_id: 'flags', optional: true, label: plain('Options'), element: { type: 'checkboxes', action_id: 'value', options: [option('fixed_camera', 'Keep the camera still')] } });
  if (cat.anyAudio()) {
    // Checked: sound where the model makes it (models without sound stay silent). Unchecked: silent.
    const on = option(SOUND_ON, 'Make sound (on models that do)');
    blocks.push({ type: 'input', block_id: 'sound', optional: true, label: plain('Sound'), element: { type: 'checkboxes', action_id: 'value', options: [on], initial_options: [on] } });
  }
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
  input: Omit<GenerationInput, 'image' | 'lastFrame' | 'references'>;
  /** One file: the first frame. */
  imageFile?: SlackFile;
  /** Several files: reference images. */
  referenceFiles?: SlackFile[];
  conversation?: string;
}

export function readModal(values: ViewState): ModalInput {
  const v = (block: string) => values[block]?.value;
  const input: ModalInput['input'] = { prompt: v('prompt')?.value ?? '' };
  const pick = (block: string) => v(block)?.selected_option?.value;
  if (pick('model')) input.model = pick('model');
  if (pick('resolution')) input.resolution = pick('resolution');
  // A number now; a list in forms opened before lengths became a range.
  const duration = pick('duration') ?? v('duration')?.value;
  if (duration !== undefined && duration !== null && duration !== '') input.duration = duration;
  if (pick('ratio')) input.aspectRatio = pick('ratio');
  const seed = v('seed')?.value;
  if (seed !== undefined && seed !== null && seed !== '') input.seed = seed;
  if (v('flags')?.selected_options?.some((o) => o.value === 'fixed_camera')) input.fixedCamera = true;
  // Slack sends an unchecked box as an empty list; a form without the box (no model makes sound) says nothing.
  const sound = v('sound')?.selected_options;
  if (sound && !sound.some((o) => o.value === SOUND_ON)) input.audio = false;
  const files = v('image')?.files ?? [];
  const conversation = v('conversation')?.selected_conversation ?? undefined;
  return {
    input,
    ...(files.length === 1 ? { imageFile: files[0]! } : {}),
    ...(files.length > 1 ? { referenceFiles: files } : {}),
    ...(conversation ? { conversation } : {}),
  };
}

/** Every block id the modal can have. */
export const MODAL_BLOCKS = ['prompt', 'image', 'model', 'resolution', 'duration', 'ratio', 'seed', 'flags', 'sound', 'conversation'];

/** Which field a validation message belongs to, for inline errors. */
export function fieldFor(message: string, blocks: readonly string[]): string {
  const rules: [RegExp, string][] = [
    [/^the prompt names/i, 'prompt'],
    [/aspect ratio/i, 'ratio'],
    [/seed/i, 'seed'],
    [/resolution|renders at (most|least)/i, 'resolution'],
    // "lite makes 5 or 10 s clips", "2.5 makes 4 to 30 s clips"
    [/duration|\bs clips\b/i, 'duration'],
    [/frame|image/i, 'image'],
    // A form without the files (a message's images): the model is what to change.
    [/takes no reference images/i, 'model'],
    [/makes no sound/i, 'sound'],
    [/model|needs an? .* key/i, 'model'],
  ];
  for (const [re, block] of rules) if (re.test(message) && blocks.includes(block)) return block;
  return 'prompt';
}
