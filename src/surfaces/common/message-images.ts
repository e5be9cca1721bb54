/**
 * The images that come with a chat message (a mention, a reply, a DM, Apps > Animate, a
 * message shortcut, several files in the Slack form): one image is the first frame, as
 * always; several are reference images (`@Image1`, `@Image2`… in the prompt) on a bot
 * with a model that takes them. Validation then names the models that do when the chosen
 * one doesn't, so no image is dropped without a word. On a bot where no model takes
 * references, the first image is the first frame and the rest are left out, as before
 * references existed.
 */
import type { Catalogue } from '../../core/catalogue.js';

export function splitImages<T>(images: readonly T[], cat: Pick<Catalogue, 'maxReferenceImages'>): { image?: T; references?: T[] } {
  if (!images.length) return {};
  if (images.length === 1 || cat.maxReferenceImages() === 0) return { image: images[0]! };
  return { references: [...images] };
}
