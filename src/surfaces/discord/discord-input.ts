/**
 * Turns Discord attachments and options into core input: images are only taken
 * from Discord's own CDN hosts, with the type, size and dimensions Discord
 * declares, so bad images are refused before any download or submit.
 */
import { REFERENCE_OPTIONS } from '../../../commands/discord-commands.js';
import { UserFacingError } from '../../core/errors.js';
import type { Catalogue } from '../../core/catalogue.js';
import type { GenerationInput, ImageInput } from '../../core/request.js';
import { splitImages } from '../common/message-images.js';

export interface AttachmentFacts {
  url: string;
  name?: string | null;
  contentType?: string | null;
  size?: number | null;
  width?: number | null;
  height?: number | null;
}

/** The facts Discord declares about an attachment (discord.js Attachment or the raw API shape). */
export function attachmentFacts(a: { url: string; name?: string | null; contentType?: string | null; size?: number | null; width?: number | null; height?: number | null }): AttachmentFacts {
  return { url: a.url, name: a.name, contentType: a.contentType, size: a.size, width: a.width, height: a.height };
}

const IMAGE_EXT = /\.(jpe?g|png|webp|gif|bmp|tiff?)(\?|$)/i;

export function isImage(a: AttachmentFacts): boolean {
  return a.contentType ? a.contentType.toLowerCase().startsWith('image/') : IMAGE_EXT.test(a.name ?? a.url);
}

/** The first image among a message's attachments. */
export function firstImage(attachments: Iterable<AttachmentFacts>): AttachmentFacts | undefined {
  for (const a of attachments) if (isImage(a)) return a;
  return undefined;
}

/** Every image among a message's attachments, in order. */
export function imagesOf(attachments: Iterable<AttachmentFacts>): AttachmentFacts[] {
  return [...attachments].filter(isImage);
}

/** A message's images as input: one is the first frame, several are reference images where a model takes them. */
export function messageImages(found: readonly AttachmentFacts[], cat: Pick<Catalogue, 'maxReferenceImages'>, cdnHosts: readonly string[]): Pick<GenerationInput, 'image' | 'references'> {
  const { image, references } = splitImages(found, cat);
  return {
    ...(image ? { image: imageFromAttachment(image, 'image', cdnHosts) } : {}),
    ...(references ? { references: references.map((a, n) => imageFromAttachment(a, `reference image ${n + 1}`, cdnHosts)) } : {}),
  };
}

/**
 * /video's `reference_1`… attachments as reference images, in order. A gap (reference_2 without
 * reference_1) is refused: the prompt names them @Image1, @Image2… by position.
 */
export function referenceOptions(
  i: { options: { getAttachment(name: string): Parameters<typeof attachmentFacts>[0] | null } },
  cdnHosts: readonly string[],
): { references?: ImageInput[] } {
  const given = REFERENCE_OPTIONS.map((name) => ({ name, a: i.options.getAttachment(name) }));
  const last = given.map((g) => Boolean(g.a)).lastIndexOf(true);
  if (last < 0) return {};
  const gap = given.slice(0, last).find((g) => !g.a);
  if (gap) throw new UserFacingError('bad_references', `${given[last]!.name} is set but ${gap.name} isn't; fill them in order (the prompt names them @Image1, @Image2…)`);
  return { references: given.slice(0, last + 1).map((g, n) => imageFromAttachment(attachmentFacts(g.a!), `reference image ${n + 1}`, cdnHosts)) };
}

export function imageFromAttachment(a: AttachmentFacts, what: string, cdnHosts: readonly string[]): ImageInput {
  let host: string;
  try {
    host = new URL(a.url).hostname.toLowerCase();
  } catch {
    throw new UserFacingError('bad_image', `the ${what} has no usable link`);
  }
  if (!cdnHosts.includes(host)) throw new UserFacingError('bad_image', `the ${what} must be uploaded to Discord (got a link to ${host})`);
  if (!isImage(a)) throw new UserFacingError('bad_image', `the ${what} must be an image (JPEG, PNG, WebP, BMP, TIFF or GIF), not ${a.contentType ?? 'that file'}`);
  return {
    kind: 'url',
    url: a.url,
    ...(a.name ? { name: a.name } : {}),
    ...(a.contentType ? { mime: a.contentType } : {}),
    ...(a.size ? { bytes: a.size } : {}),
    ...(a.width ? { width: a.width } : {}),
    ...(a.height ? { height: a.height } : {}),
  };
}
