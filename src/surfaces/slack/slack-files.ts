/**
 * Users' files: downloaded with the bot token from Slack's file hosts only (the
 * token never goes anywhere else), and an HTML sign-in page answered with 200 —
 * what Slack sends when the app lacks files:read — is caught, not forwarded.
 */
import type { webApi } from '@slack/bolt';
import type { Dispatcher } from 'undici';
import { UserFacingError } from '../../core/errors.js';
import { within } from '../../platform-connection.js';
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

/** Only the fields we use, whatever else Slack sends (thumbnails, shares…): what is kept stays small. */
export function slackFileFields(f: Record<string, unknown>): SlackFile {
  const text = (k: string) => (typeof f[k] === 'string' ? { [k]: f[k] as string } : {});
  // web-api types original_w/h as strings; Slack sends numbers.
  const num = (k: string) => (f[k] !== undefined && f[k] !== null && f[k] !== '' && Number.isFinite(Number(f[k])) ? { [k]: Number(f[k]) } : {});
  return { ...text('id'), ...text('name'), ...text('mimetype'), ...num('size'), ...text('url_private'), ...text('url_private_download'), ...num('original_w'), ...num('original_h') };
}

/**
 * A file by id, from files.info with the bot token. Bounded by `timeoutMs` (below the client's own
 * timeout) because a caller may still have to answer Slack within 3 s.
 */
export async function lookUpSlackFile(client: webApi.WebClient, id: string, what: string, timeoutMs = 2000): Promise<SlackFile> {
  try {
    const res = await within(client.files.info({ file: id }), timeoutMs, 'files.info did not answer');
    if (!res.file) throw new Error('no file in the answer');
    return slackFileFields(res.file as Record<string, unknown>);
  } catch (err) {
    const code = (err as { data?: { error?: string } }).data?.error;
    if (code === 'file_not_found' || code === 'file_deleted') throw new UserFacingError('image_gone', `the ${what} is no longer on Slack (it was deleted, or you can't see it any more)`);
    if (code === 'missing_scope') throw new UserFacingError('files_read_missing', `couldn't read the ${what}: this app is missing the files:read permission. Ask an admin to reinstall it from its manifest.`);
    throw new UserFacingError('image_unreadable', `couldn't look up the ${what} on Slack (${code ?? (err as Error).message}); please try again`, [], { cause: err });
  }
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
