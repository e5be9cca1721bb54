import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import {
  IMAGE_LIMITS,
  checkImageFacts,
  imageTypeFromMime,
  probeImage,
  toDataUri,
} from '../../src/core/image-probe.js';
import type { ImageType } from '../../src/core/image-probe.js';

// ---- byte builders ---------------------------------------------------------------------------

type Part = number | readonly number[] | string | Uint8Array;

/** Concatenate numbers (single bytes), byte arrays, ASCII strings and Uint8Arrays. */
function bytes(...parts: Part[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p);
    else if (typeof p === 'string') for (const c of p) out.push(c.charCodeAt(0));
    else out.push(...p);
  }
  return Uint8Array.from(out);
}
const u16be = (n: number): number[] => [(n >>> 8) & 0xff, n & 0xff];
const u16le = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff];
const u32be = (n: number): number[] => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const u32le = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const u24le = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff];

function png(w: number, h: number): Uint8Array {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  return bytes(sig, u32be(13), 'IHDR', u32be(w), u32be(h), [8, 2, 0, 0, 0], u32be(0xdeadbeef), u32be(0), 'IEND', u32be(0xae426082));
}

/** A JPEG segment: marker + big-endian length (including itself) + payload. */
function seg(marker: number, payload: Uint8Array | readonly number[]): Uint8Array {
  return bytes(0xff, marker, u16be(payload.length + 2), payload);
}

function jpeg(w: number, h: number, opts: { sof?: number; before?: Uint8Array[] } = {}): Uint8Array {
  const app0 = seg(0xe0, bytes('JFIF', 0, [1, 1, 0], u16be(72), u16be(72), [0, 0]));
  const sof = seg(opts.sof ?? 0xc0, bytes(8, u16be(h), u16be(w), 3, [1, 0x22, 0], [2, 0x11, 1], [3, 0x11, 1]));
  const sos = seg(0xda, [3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0]);
  return bytes([0xff, 0xd8], app0, ...(opts.before ?? []), sof, sos, [0x12, 0x34, 0xff, 0xd9]);
}

function gif(w: number, h: number, version = 'GIF89a'): Uint8Array {
  return bytes(version, u16le(w), u16le(h), [0xf7, 0, 0], ';');
}

function bmpCore(w: number, h: number): Uint8Array {
  return bytes('BM', u32le(26), u32le(0), u32le(26), u32le(12), u16le(w), u16le(h), u16le(1), u16le(24));
}

function bmpInfo(w: number, h: number, dibSize = 40): Uint8Array {
  const rest = new Uint8Array(dibSize - 16);
  return bytes('BM', u32le(14 + dibSize), u32le(0), u32le(14 + dibSize), u32le(dibSize), u32le(w), u32le(h), u16le(1), u16le(24), rest);
}

function riff(chunk: string, data: Uint8Array): Uint8Array {
  return bytes('RIFF', u32le(4 + 8 + data.length), 'WEBP', chunk, u32le(data.length), data);
}
function webpLossy(w: number, h: number, scaleBits = 0): Uint8Array {
  return riff('VP8 ', bytes([0x50, 0x02, 0x00], [0x9d, 0x01, 0x2a], u16le(w | (scaleBits << 14)), u16le(h | (scaleBits << 14)), [0, 0]));
}
function webpLossless(w: number, h: number): Uint8Array {
  const bits = ((w - 1) | ((h - 1) << 14) | (1 << 28)) >>> 0; // alpha_is_used=1, version=0
  return riff('VP8L', bytes(0x2f, u32le(bits), [0, 0, 0]));
}
function webpExtended(w: number, h: number): Uint8Array {
  return riff('VP8X', bytes([0x10, 0, 0, 0], u24le(w - 1), u24le(h - 1)));
}

/** TIFF with IFD0 at offset 8: NewSubfileType, ImageWidth, ImageLength, BitsPerSample. */
function tiff(w: number, h: number, le: boolean, type: 3 | 4): Uint8Array {
  const s16 = le ? u16le : u16be;
  const s32 = le ? u32le : u32be;
  const value = (n: number): number[] => (type === 3 ? [...s16(n), 0, 0] : s32(n));
  const entry = (tag: number, t: number, v: number[]): number[] => [...s16(tag), ...s16(t), ...s32(1), ...v];
  return bytes(
    le ? 'II' : 'MM',
    s16(42),
    s32(8),
    s16(4),
    entry(254, 4, s32(0)),
    entry(256, type, value(w)),
    entry(257, type, value(h)),
    entry(258, 3, [...s16(8), 0, 0]),
    s32(0),
  );
}

// ---- samples ---------------------------------------------------------------------------------

const bigApp1 = seg(0xe1, bytes('Exif', [0, 0], new Uint8Array(40_000).fill(0xab)));

const samples: Array<[name: string, data: Uint8Array, type: ImageType, w: number, h: number]> = [
  ['png', png(1920, 1080), 'png', 1920, 1080],
  ['png large dims', png(70000, 300), 'png', 70000, 300],
  ['jpeg APP0 + SOF0', jpeg(1024, 768), 'jpeg', 1024, 768],
  ['jpeg big APP1 + SOF2', jpeg(4000, 3000, { sof: 0xc2, before: [bigApp1] }), 'jpeg', 4000, 3000],
  [
    'jpeg DHT/DQT/RST/fill bytes before SOF1',
    jpeg(640, 480, {
      sof: 0xc1,
      before: [seg(0xdb, new Uint8Array(65)), seg(0xc4, new Uint8Array(30)), bytes([0xff, 0xd0, 0xff, 0x01, 0xff, 0xff, 0xff])],
    }),
    'jpeg',
    640,
    480,
  ],
  ['jpeg SOF15 after DAC and JPG markers', jpeg(300, 301, { sof: 0xcf, before: [seg(0xcc, [0, 0]), seg(0xc8, [1])] }), 'jpeg', 300, 301],
  ['gif89a', gif(500, 400), 'gif', 500, 400],
  ['gif87a', gif(65535, 1, 'GIF87a'), 'gif', 65535, 1],
  ['bmp core header', bmpCore(800, 600), 'bmp', 800, 600],
  ['bmp info header', bmpInfo(1280, 720), 'bmp', 1280, 720],
  ['bmp info header top-down', bmpInfo(1280, -720), 'bmp', 1280, 720],
  ['bmp v5 header', bmpInfo(100000, 3, 124), 'bmp', 100000, 3],
  ['webp VP8', webpLossy(1600, 900), 'webp', 1600, 900],
  ['webp VP8 with scale bits', webpLossy(16383, 2, 3), 'webp', 16383, 2],
  ['webp VP8L', webpLossless(1920, 1080), 'webp', 1920, 1080],
  ['webp VP8L max', webpLossless(16384, 16384), 'webp', 16384, 16384],
  ['webp VP8X', webpExtended(20000, 300), 'webp', 20000, 300],
  ['tiff II SHORT', tiff(1200, 800, true, 3), 'tiff', 1200, 800],
  ['tiff II LONG', tiff(70000, 800, true, 4), 'tiff', 70000, 800],
  ['tiff MM SHORT', tiff(1200, 801, false, 3), 'tiff', 1200, 801],
  ['tiff MM LONG', tiff(100, 70001, false, 4), 'tiff', 100, 70001],
];

const MIMES: Record<ImageType, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  bmp: 'image/bmp',
  tiff: 'image/tiff',
};

// ---- tests -----------------------------------------------------------------------------------

describe('probeImage', () => {
  it.each(samples)('%s', (_name, data, type, width, height) => {
    expect(probeImage(data)).toEqual({ type, mime: MIMES[type], width, height });
  });

  it('works on a subarray view (non-zero byteOffset)', () => {
    const data = png(640, 480);
    const padded = new Uint8Array(data.length + 7);
    padded.set(data, 7);
    expect(probeImage(padded.subarray(7))).toMatchObject({ width: 640, height: 480 });
    expect(probeImage(Buffer.from(data))).toMatchObject({ type: 'png', width: 640, height: 480 });
  });

  it.each(samples)('never throws on any prefix of %s; header prefixes give undefined', (_name, data) => {
    const full = probeImage(data);
    for (let n = 0; n < data.length; n++) {
      const prefix = data.subarray(0, n);
      let got: ReturnType<typeof probeImage>;
      expect(() => (got = probeImage(prefix))).not.toThrow();
      // A prefix yields either nothing or the same answer as the whole file.
      if (got !== undefined) expect(got).toEqual(full);
    }
    expect(probeImage(data.subarray(0, 8))).toBeUndefined();
  });

  it('returns undefined for empty input, garbage and SVG', () => {
    expect(probeImage(new Uint8Array(0))).toBeUndefined();
    const svg = new TextEncoder().encode('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="800" height="600"></svg>');
    expect(probeImage(svg)).toBeUndefined();
    let seed = 12345;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) & 0xff;
    for (let i = 0; i < 500; i++) {
      const junk = Uint8Array.from({ length: 1 + (i % 97) }, rand);
      expect(() => probeImage(junk)).not.toThrow();
    }
    expect(probeImage(Uint8Array.from({ length: 256 }, rand))).toBeUndefined();
  });

  it('never throws on corrupted samples (random byte flips)', () => {
    let seed = 7;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) >>> 8) % n;
    for (const [, data] of samples) {
      for (let i = 0; i < 200; i++) {
        const copy = data.slice(0, Math.min(data.length, 512));
        copy[rand(copy.length)] = rand(256);
        copy[rand(copy.length)] = rand(256);
        expect(() => probeImage(copy)).not.toThrow();
      }
    }
  });

  it('rejects corrupt headers', () => {
    expect(probeImage(png(0, 100))).toBeUndefined(); // zero width
    const badIhdr = png(100, 100);
    badIhdr[12] = 0x58; // 'XHDR'
    expect(probeImage(badIhdr)).toBeUndefined();
    expect(probeImage(bytes([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x01]))).toBeUndefined(); // segment length < 2
    expect(probeImage(bytes([0xff, 0xd8], seg(0xda, [0]), [0xff, 0xd9]))).toBeUndefined(); // SOS before SOF
    expect(probeImage(bytes([0xff, 0xd8], [0xff, 0xe0, 0x00, 0x04, 0, 0], [0x12]))).toBeUndefined(); // no marker
    expect(probeImage(jpeg(100, 0))).toBeUndefined(); // height deferred to DNL: unknown
    const badVp8 = webpLossy(100, 100);
    badVp8[23] = 0;
    expect(probeImage(badVp8)).toBeUndefined();
    const badVp8l = webpLossless(100, 100);
    badVp8l[20] = 0;
    expect(probeImage(badVp8l)).toBeUndefined();
    expect(probeImage(riff('ALPH', new Uint8Array(20)))).toBeUndefined();
    expect(probeImage(bmpInfo(-5, 100))).toBeUndefined();
    const noHeight = tiff(100, 100, true, 3);
    noHeight[8 + 2 + 2 * 12] = 0x99; // ImageLength tag → unknown tag 0x199
    expect(probeImage(noHeight)).toBeUndefined();
    expect(probeImage(bytes('II', u16le(42), u32le(100000)))).toBeUndefined(); // IFD offset out of range
  });
});

describe('imageTypeFromMime', () => {
  it('maps supported MIME types', () => {
    expect(imageTypeFromMime('image/jpeg')).toBe('jpeg');
    expect(imageTypeFromMime('image/jpg')).toBe('jpeg');
    expect(imageTypeFromMime('IMAGE/JPEG; charset=binary')).toBe('jpeg');
    expect(imageTypeFromMime('image/png')).toBe('png');
    expect(imageTypeFromMime('image/webp')).toBe('webp');
    expect(imageTypeFromMime('image/gif')).toBe('gif');
    expect(imageTypeFromMime('image/bmp')).toBe('bmp');
    expect(imageTypeFromMime('image/x-ms-bmp')).toBe('bmp');
    expect(imageTypeFromMime('image/tiff')).toBe('tiff');
    expect(imageTypeFromMime('image/tif')).toBe('tiff');
  });
  it('returns undefined for unsupported MIME types', () => {
    for (const m of ['image/svg+xml', 'image/heic', 'image/avif', 'video/mp4', 'text/plain', '', 'jpeg']) {
      expect(imageTypeFromMime(m)).toBeUndefined();
    }
  });
});

describe('IMAGE_LIMITS', () => {
  it('has the documented values', () => {
    expect(IMAGE_LIMITS).toEqual({
      maxBytes: 31457280,
      minSide: 300,
      maxSide: 6000,
      minRatio: 0.4,
      maxRatio: 2.5,
      types: ['jpeg', 'png', 'webp', 'bmp', 'tiff', 'gif'],
    });
    expect(Object.isFrozen(IMAGE_LIMITS)).toBe(true);
  });
});

describe('checkImageFacts', () => {
  it('accepts a good 1024x768 JPEG', () => {
    expect(checkImageFacts({ bytes: 500_000, mime: 'image/jpeg', width: 1024, height: 768 })).toEqual([]);
    expect(checkImageFacts({})).toEqual([]);
  });
  it('accepts the inclusive edges', () => {
    expect(checkImageFacts({ bytes: 30 * 1024 * 1024, width: 300, height: 750 })).toEqual([]); // ratio 0.4
    expect(checkImageFacts({ width: 6000, height: 2400 })).toEqual([]); // ratio 2.5
  });
  it('reports too small and too large sides', () => {
    expect(checkImageFacts({ width: 200, height: 299 })).toEqual(['the image is 200x299 px; each side must be 300–6000 px']);
    expect(checkImageFacts({ width: 6001, height: 6000 })).toEqual(['the image is 6001x6000 px; each side must be 300–6000 px']);
    expect(checkImageFacts({ width: 12000 })).toEqual(['the image is 12000 px wide; each side must be 300–6000 px']);
    expect(checkImageFacts({ height: 100 })).toEqual(['the image is 100 px tall; each side must be 300–6000 px']);
  });
  it('reports a bad aspect ratio', () => {
    expect(checkImageFacts({ width: 3200, height: 1000 })).toEqual([
      "the image's aspect ratio is 3.20 (width/height); it must be between 0.4 and 2.5",
    ]);
    expect(checkImageFacts({ width: 300, height: 1000 })).toEqual([
      "the image's aspect ratio is 0.30 (width/height); it must be between 0.4 and 2.5",
    ]);
    // Just outside the bound: enough decimals to show it.
    expect(checkImageFacts({ width: 5003, height: 2000 })).toEqual([
      "the image's aspect ratio is 2.502 (width/height); it must be between 0.4 and 2.5",
    ]);
  });
  it('reports both size and ratio problems together', () => {
    expect(checkImageFacts({ width: 12000, height: 800 })).toEqual([
      'the image is 12000x800 px; each side must be 300–6000 px',
      "the image's aspect ratio is 15.00 (width/height); it must be between 0.4 and 2.5",
    ]);
  });
  it('reports too many bytes', () => {
    expect(checkImageFacts({ bytes: Math.round(31.2 * 1024 * 1024) })).toEqual(['the image is 31.2 MB; the limit is 30 MB']);
    expect(checkImageFacts({ bytes: 30 * 1024 * 1024 + 1 })).toEqual([
      'the image is 31457281 bytes; the limit is 30 MB (31457280 bytes)',
    ]);
    expect(checkImageFacts({ bytes: 0 })).toEqual(['the image is empty (0 bytes)']);
  });
  it('reports an unsupported MIME type', () => {
    expect(checkImageFacts({ mime: 'image/svg+xml' })).toEqual([
      'image/svg+xml is not supported; use JPEG, PNG, WebP, BMP, TIFF or GIF',
    ]);
    expect(checkImageFacts({ mime: 'image/jpg', width: 1024, height: 768 })).toEqual([]);
  });
  it('ignores non-finite numbers as unknown', () => {
    expect(checkImageFacts({ bytes: Number.NaN, width: Number.POSITIVE_INFINITY, height: 500 })).toEqual([]);
  });
  it('chains with probeImage', () => {
    const info = probeImage(webpExtended(20000, 300));
    expect(info).toBeDefined();
    expect(checkImageFacts({ ...info, bytes: 100 })).toEqual([
      'the image is 20000x300 px; each side must be 300–6000 px',
      "the image's aspect ratio is 66.67 (width/height); it must be between 0.4 and 2.5",
    ]);
  });
});

describe('toDataUri', () => {
  it('round-trips through base64', () => {
    const data = png(640, 480);
    const uri = toDataUri(data, { mime: 'image/png' });
    expect(uri.startsWith('data:image/png;base64,')).toBe(true);
    const decoded = Buffer.from(uri.slice('data:image/png;base64,'.length), 'base64');
    expect(new Uint8Array(decoded)).toEqual(data);
  });
  it('encodes only the viewed bytes of a subarray', () => {
    const backing = Uint8Array.from([1, 2, 3, 4, 5, 6]);
    expect(toDataUri(backing.subarray(2, 5), { mime: 'image/gif' })).toBe(
      `data:image/gif;base64,${Buffer.from([3, 4, 5]).toString('base64')}`,
    );
  });
});

// ---- files written by a real encoder (ffmpeg testsrc, 37x23; see test/fixtures/README.md) -------

describe('probeImage on files encoded by ffmpeg', () => {
  const cases: Array<[file: string, type: ImageType]> = [
    ['a.png', 'png'],
    ['a.jpg', 'jpeg'],
    ['a.gif', 'gif'],
    ['a.bmp', 'bmp'],
    ['a.tiff', 'tiff'],
    ['lossy.webp', 'webp'],
    ['lossless.webp', 'webp'],
  ];
  it.each(cases)('%s', (file, type) => {
    const data = readFileSync(new URL(`../fixtures/probe/${file}`, import.meta.url));
    expect(probeImage(data)).toEqual({ type, mime: MIMES[type], width: 37, height: 23 });
  });
});
