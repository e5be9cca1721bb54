/**
 * Users' files: downloaded with the bot token from Slack's file hosts only (the
 * token never goes anywhere else), and an HTML sign-in page answered with 200 —
 * what Slack sends when the app lacks files:read — is caught, not forwarded.
 */
import type { Dispatcher } from 'undici';
import { UserFacingError } from '../../core/errors.js';
import { IMAGE_LIMITS, checkImageFacts, probeImage } from '../../core/image-probe.js';
import type { ImageInput } from '../../core/request.js';
import { fetchBytes } from '../../http/video-fetcher.js';

/** The fields of a Slack file object we use. */
export interface SlackFile {
  id?: string;
  name?: string;
  mimetype?: string;
  size?: number;
  url_private?: string;
  url_private_download?: string;
  original_w?: number;
  original_h?: number;
}

export function isImageFile(f: SlackFile): boolean {
  return Boolean(f.mimetype?.startsWith('image/')) || /\.(jpe?g|png|webp|gif|bmp|tiff?)$/i.test(f.name ?? '');
}

/** Checks what Slack declares about a file before downloading anything. */
export function checkDeclared(f: SlackFile, what: string): void {
  if (!isImageFile(f)) throw new UserFacingError('bad_image', `the ${what} must be an image (JPEG, PNG, WebP, BMP, TIFF or GIF), not ${f.mimetype ?? f.name ?? 'that file'}`);
  const problems = checkImageFacts({ bytes: f.size, mime: f.mimetype, width: f.original_w, height: f.original_h });
  if (problems.length) throw new UserFacingError('bad_image', `${what}: ${problems.join('; ')}`);
}

export async function downloadSlackImage(
  f: SlackFile,
  what: string,
  o: { token: string; allowedHosts: readonly string[]; dispatcher: Dispatcher },
): Promise<ImageInput> {
  checkDeclared(f, what);
  const url = f.url_private_download ?? f.url_private;
  if (!url) throw new UserFacingError('bad_image', `the ${what} has no download link`);
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    throw new UserFacingError('bad_image', `the ${what} has no usable download link`);
  }
  if (!o.allowedHosts.includes(host)) throw new UserFacingError('bad_image', `the ${what} is not a Slack file (it is on ${host})`);
  let got: { bytes: Buffer; contentType: string };
  try {
    got = await fetchBytes(o.dispatcher, url, { maxBytes: IMAGE_LIMITS.maxBytes, headers: { authorization: `Bearer ${o.token}` } });
  } catch (err) {
    throw new UserFacingError('image_unreadable', `couldn't download the ${what} from Slack (${(err as Error).message})`);
  }
  if (got.contentType.toLowerCase().includes('text/html')) {
    throw new UserFacingError(
      'files_read_missing',
      `Slack sent a sign-in page instead of the ${what}: this app is missing the files:read permission. Ask an admin to reinstall it from its manifest.`,
    );
  }
  if (!probeImage(got.bytes)) throw new UserFacingError('bad_image', `the ${what} isn't a supported image; use JPEG, PNG, WebP, BMP, TIFF or GIF`);
  return { kind: 'bytes', data: got.bytes, ...(f.name ? { name: f.name } : {}) };
}
