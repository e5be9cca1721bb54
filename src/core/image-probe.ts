/**
 * Byte-level image sniffing: detect the format from magic bytes and read the pixel size from the
 * header, plus the Seedance input-image limits. Works on bytes only (no file system access).
 */

/** Image formats accepted by the Seedance origin. */
export type ImageType = 'jpeg' | 'png' | 'webp' | 'gif' | 'bmp' | 'tiff';

/** What {@link probeImage} learns from an image header. */
export interface ImageInfo {
  type: ImageType;
  mime: string;
  width: number;
  height: number;
}

/** Limits of the Seedance origin for input images. */
export interface ImageLimits {
  /** Largest accepted file size in bytes (inclusive). */
  maxBytes: number;
  /** Smallest accepted width and height in px (inclusive). */
  minSide: number;
  /** Largest accepted width and height in px (inclusive). */
  maxSide: number;
  /** Smallest accepted aspect ratio width/height (inclusive). */
  minRatio: number;
  /** Largest accepted aspect ratio width/height (inclusive). */
  maxRatio: number;
  /** Accepted formats. */
  types: readonly ImageType[];
}

const MIME: Readonly<Record<ImageType, string>> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  bmp: 'image/bmp',
  tiff: 'image/tiff',
};

/**
 * Limits of the Seedance origin for input images, from the provider's documentation: JPEG, PNG,
 * WebP, BMP, TIFF or GIF; each side 300–6000 px; width/height between 0.4 and 2.5; under 30 MB.
 * The size limit is interpreted as "at most 30 MiB" (30 * 1024 * 1024 bytes, inclusive).
 */
export const IMAGE_LIMITS: Readonly<ImageLimits> = Object.freeze({
  maxBytes: 30 * 1024 * 1024,
  minSide: 300,
  maxSide: 6000,
  minRatio: 0.4,
  maxRatio: 2.5,
  types: Object.freeze(['jpeg', 'png', 'webp', 'bmp', 'tiff', 'gif'] as const),
});

/** Bounds-checked little/big-endian readers; they throw RangeError past the end (caught in probeImage). */
class Reader {
  private readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  u8 = (o: number): number => this.view.getUint8(o);
  u16 = (o: number, le: boolean): number => this.view.getUint16(o, le);
  u32 = (o: number, le: boolean): number => this.view.getUint32(o, le);
  i32 = (o: number, le: boolean): number => this.view.getInt32(o, le);
  /** True when the bytes at offset o are exactly the given ASCII string / byte values. */
  is(o: number, sig: string | readonly number[]): boolean {
    const want = typeof sig === 'string' ? [...sig].map((c) => c.charCodeAt(0)) : sig;
    return o + want.length <= this.bytes.length && want.every((v, i) => this.bytes[o + i] === v);
  }
}

type Size = [width: number, height: number];

function pngSize(r: Reader): Size | undefined {
  if (!r.is(0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) || !r.is(12, 'IHDR')) return undefined;
  return [r.u32(16, false), r.u32(20, false)];
}

function gifSize(r: Reader): Size | undefined {
  if (!r.is(0, 'GIF87a') && !r.is(0, 'GIF89a')) return undefined;
  return [r.u16(6, true), r.u16(8, true)];
}

function bmpSize(r: Reader): Size | undefined {
  if (!r.is(0, 'BM')) return undefined;
  const dib = r.u32(14, true);
  if (dib === 12) return [r.u16(18, true), r.u16(20, true)]; // BITMAPCOREHEADER
  if (dib < 16) return undefined;
  const width = r.i32(18, true); // BITMAPINFOHEADER and later (also OS/2 2.x): signed 32-bit
  return width > 0 ? [width, Math.abs(r.i32(22, true))] : undefined; // negative height = top-down
}

function webpSize(r: Reader): Size | undefined {
  if (!r.is(0, 'RIFF') || !r.is(8, 'WEBP')) return undefined;
  if (r.is(12, 'VP8 ')) {
    if (!r.is(23, [0x9d, 0x01, 0x2a])) return undefined;
    return [r.u16(26, true) & 0x3fff, r.u16(28, true) & 0x3fff]; // top 2 bits are scaling
  }
  if (r.is(12, 'VP8L')) {
    if (r.u8(20) !== 0x2f) return undefined;
    const bits = r.u32(21, true);
    return [(bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1];
  }
  if (r.is(12, 'VP8X')) {
    const u24 = (o: number): number => r.u8(o) | (r.u8(o + 1) << 8) | (r.u8(o + 2) << 16);
    return [u24(24) + 1, u24(27) + 1];
  }
  return undefined;
}

function jpegSize(r: Reader): Size | undefined {
  if (!r.is(0, [0xff, 0xd8, 0xff])) return undefined;
  let pos = 2;
  for (;;) {
    if (r.u8(pos) !== 0xff) return undefined; // expected a marker
    while (r.u8(pos) === 0xff) pos++; // 0xFF fill bytes before the marker code
    const marker = r.u8(pos);
    pos++;
    // Standalone markers without a length: TEM, RST0..7, SOI.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) continue;
    if (marker === 0xd9 || marker === 0xda || marker === 0x00) return undefined; // EOI/SOS before SOF
    const len = r.u16(pos, false);
    if (len < 2) return undefined;
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      if (len < 7) return undefined;
      return [r.u16(pos + 5, false), r.u16(pos + 3, false)]; // after length: precision, height, width
    }
    pos += len;
  }
}

function tiffSize(r: Reader): Size | undefined {
  let le: boolean;
  if (r.is(0, [0x49, 0x49, 0x2a, 0x00])) le = true;
  else if (r.is(0, [0x4d, 0x4d, 0x00, 0x2a])) le = false;
  else return undefined;
  const ifd = r.u32(4, le);
  const count = r.u16(ifd, le);
  let width: number | undefined;
  let height: number | undefined;
  for (let i = 0; i < count && (width === undefined || height === undefined); i++) {
    const e = ifd + 2 + i * 12;
    const tag = r.u16(e, le);
    if (tag !== 256 && tag !== 257) continue;
    const type = r.u16(e + 2, le);
    // SHORT (3) or LONG (4); a single value is left-justified in the 4-byte value field.
    const value = type === 3 ? r.u16(e + 8, le) : type === 4 ? r.u32(e + 8, le) : undefined;
    if (value === undefined) return undefined;
    if (tag === 256) width = value;
    else height = value;
  }
  return width !== undefined && height !== undefined ? [width, height] : undefined;
}

const PROBES: ReadonlyArray<[ImageType, (r: Reader) => Size | undefined]> = [
  ['png', pngSize],
  ['jpeg', jpegSize],
  ['gif', gifSize],
  ['webp', webpSize],
  ['bmp', bmpSize],
  ['tiff', tiffSize],
];

/**
 * Sniff the type from magic bytes and read the pixel size from the header. Needs only the first
 * bytes (works on a prefix of the file, up to ~64 KiB for JPEG whose SOF may come after EXIF;
 * TIFF is the exception, as many writers put IFD0 after the pixel data, so pass the whole file).
 * Returns undefined when the bytes are not one of the six supported types or the header is
 * truncated/corrupt (including a zero width or height). Never throws.
 */
export function probeImage(bytes: Uint8Array): ImageInfo | undefined {
  try {
    const r = new Reader(bytes);
    for (const [type, probe] of PROBES) {
      const size = probe(r);
      if (!size) continue;
      const [width, height] = size;
      if (!(width > 0 && height > 0)) return undefined;
      return { type, mime: MIME[type], width, height };
    }
  } catch {
    // RangeError from a truncated header (or anything unexpected): not a usable image.
  }
  return undefined;
}

/**
 * Map a MIME type to an {@link ImageType} ('image/jpg' and 'image/jpeg' both → jpeg, 'image/tif' →
 * tiff). Case and parameters (`; charset=...`) are ignored. Returns undefined if unsupported.
 */
export function imageTypeFromMime(mime: string): ImageType | undefined {
  const m = (mime.split(';')[0] ?? '').trim().toLowerCase();
  switch (m) {
    case 'image/jpeg':
    case 'image/jpg':
    case 'image/pjpeg':
      return 'jpeg';
    case 'image/png':
      return 'png';
    case 'image/webp':
      return 'webp';
    case 'image/gif':
      return 'gif';
    case 'image/bmp':
    case 'image/x-bmp':
    case 'image/x-ms-bmp':
      return 'bmp';
    case 'image/tiff':
    case 'image/tif':
      return 'tiff';
    default:
      return undefined;
  }
}

/** Format v with the fewest decimals (≥ 2) that keep it visibly outside [min, max]. */
function fmtOutside(v: number, min: number, max: number): string {
  let d = 2;
  while (d < 6 && Number(v.toFixed(d)) >= min && Number(v.toFixed(d)) <= max) d++;
  return v.toFixed(d);
}

/**
 * Check declared or probed facts against {@link IMAGE_LIMITS}. Returns specific, human messages
 * (empty = fine). Any field may be unknown (undefined, or a non-finite number) and is then not checked.
 */
export function checkImageFacts(facts: { bytes?: number; mime?: string; width?: number; height?: number }): string[] {
  const L = IMAGE_LIMITS;
  const known = (n: number | undefined): n is number => typeof n === 'number' && Number.isFinite(n);
  const out: string[] = [];
  if (facts.mime !== undefined && imageTypeFromMime(facts.mime) === undefined) {
    out.push(`${facts.mime || 'an empty type'} is not supported; use JPEG, PNG, WebP, BMP, TIFF or GIF`);
  }
  const { bytes, width, height } = facts;
  if (known(bytes) && bytes <= 0) out.push('the image is empty (0 bytes)');
  if (known(bytes) && bytes > L.maxBytes) {
    const mb = (bytes / 1024 / 1024).toFixed(1);
    const limitMb = L.maxBytes / 1024 / 1024;
    out.push(
      Number(mb) > limitMb
        ? `the image is ${mb} MB; the limit is ${limitMb} MB`
        : `the image is ${bytes} bytes; the limit is ${limitMb} MB (${L.maxBytes} bytes)`,
    );
  }
  const badSide = (n: number | undefined): boolean => known(n) && (n < L.minSide || n > L.maxSide);
  if (badSide(width) || badSide(height)) {
    const what =
      known(width) && known(height) ? `${width}x${height} px` : known(width) ? `${width} px wide` : `${height} px tall`;
    out.push(`the image is ${what}; each side must be ${L.minSide}–${L.maxSide} px`);
  }
  if (known(width) && known(height) && width > 0 && height > 0) {
    const ratio = width / height;
    if (ratio < L.minRatio || ratio > L.maxRatio) {
      out.push(
        `the image's aspect ratio is ${fmtOutside(ratio, L.minRatio, L.maxRatio)} (width/height); ` +
          `it must be between ${L.minRatio} and ${L.maxRatio}`,
      );
    }
  }
  return out;
}

/** Build a full data URI `data:image/png;base64,...` from bytes and a probed (or known) MIME type. */
export function toDataUri(bytes: Uint8Array, info: Pick<ImageInfo, 'mime'>): string {
  const b64 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  return `data:${info.mime};base64,${b64}`;
}
