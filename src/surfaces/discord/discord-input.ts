/**
 * Turns Discord attachments and options into core input: images are only taken
 * from Discord's own CDN hosts, with the type, size and dimensions Discord
 * declares, so bad images are refused before any download or submit.
 */
import { UserFacingError } from '../../core/errors.js';
import type { ImageInput } from '../../core/request.js';

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
