/**
 * Turns a CLI --image (or --ref) argument (a path or an http(s) URL) into an ImageInput,
 * checking size before reading and type/dimensions before anything is spent.
 */
import { readFile, stat } from 'node:fs/promises';
import type { Dispatcher } from 'undici';
import { interceptors } from 'undici';
import { UserFacingError } from './core/errors.js';
import { IMAGE_LIMITS, checkImageFacts, probeImage } from './core/image-probe.js';
import type { ImageInput } from './core/request.js';
import { fetchBytes } from './http/video-fetcher.js';

export async function loadImageArg(arg: string, what: string, dispatcher: Dispatcher): Promise<ImageInput> {
  if (/^https?:\/\//i.test(arg)) {
    let got;
    try {
      // Image links often redirect (share pages, CDNs): check what the link leads to, then pass the link on.
      got = await fetchBytes(dispatcher.compose(interceptors.redirect({ maxRedirections: 5 })), arg, { maxBytes: IMAGE_LIMITS.maxBytes });
    } catch (err) {
      throw new UserFacingError('image_unreadable', `could not fetch the ${what} from ${arg}: ${(err as Error).message}`);
    }
    const info = probeImage(got.bytes);
    if (!info) throw new UserFacingError('image_unsupported', `the ${what} at ${arg} isn't a supported image (${got.contentType || 'unknown type'}); use JPEG, PNG, WebP, BMP, TIFF or GIF`);
    // The provider fetches the URL itself; we pass along what we verified.
    return { kind: 'url', url: arg, mime: info.mime, bytes: got.bytes.byteLength, width: info.width, height: info.height };
  }
  let size: number;
  try {
    const st = await stat(arg);
    if (!st.isFile()) throw new Error('not a file');
    size = st.size;
  } catch {
    throw new UserFacingError('image_missing', `the ${what} "${arg}" does not exist or is not a file`);
  }
  const tooBig = checkImageFacts({ bytes: size });
  if (tooBig.length) throw new UserFacingError('image_too_large', `${what}: ${tooBig.join('; ')}`);
  return { kind: 'bytes', data: await readFile(arg), name: arg };
}

/** --ref arguments in order (@Image1, @Image2…), each loaded and checked like --image. */
export async function loadImageArgs(args: readonly string[], dispatcher: Dispatcher): Promise<ImageInput[]> {
  return Promise.all(args.map((arg, n) => loadImageArg(arg, args.length > 1 ? `reference image ${n + 1}` : 'reference image', dispatcher)));
}
