/**
 * Streams videos (and input images) over HTTP with a size cap. Videos go to a
 * temporary file that is renamed into place only when complete.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Dispatcher } from 'undici';
import { request } from 'undici';
import { DownloadError } from '../core/errors.js';
import type { VideoFetcher } from '../core/ports.js';
import { closed, toNetworkError } from './http-client.js';

class TooLarge extends Error {}

function capped(maxBytes: number, counter: { n: number }) {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      counter.n += chunk.length;
      if (counter.n > maxBytes) cb(new TooLarge());
      else cb(null, chunk);
    },
  });
}

/**
 * Drops a body we will not read. Destroying an unfinished undici body emits an abort
 * error; without a listener that is an uncaught exception that ends the process.
 */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}

async function open(dispatcher: Dispatcher, url: string, headers: Record<string, string>, timeoutMs: number, signal?: AbortSignal) {
  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, { dispatcher, method: 'GET', headers, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, signal });
  } catch (err) {
    const n = toNetworkError(err);
    throw new DownloadError(n.message, { status: 0, retryable: true, cause: err });
  }
  if (res.statusCode >= 300) {
    await res.body.dump().catch(() => undefined);
    throw new DownloadError(`HTTP ${res.statusCode} from ${new URL(url).host}`, { status: res.statusCode });
  }
  return res;
}

export function createVideoFetcher(dispatcher: Dispatcher, opts: { timeoutMs?: number } = {}): VideoFetcher {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return {
    async download(url, path, { maxBytes, signal }) {
      const res = await open(dispatcher, url, {}, timeoutMs, signal);
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBytes) {
        discard(res.body);
        return { ok: false, reason: 'too_large', bytes: declared };
      }
      const tmp = `${path}.part`;
      const counter = { n: 0 };
      const out = createWriteStream(tmp);
      try {
        await pipeline(res.body, capped(maxBytes, counter), out);
      } catch (err) {
        await closed(out);
        await rm(tmp, { force: true });
        if (err instanceof TooLarge) return { ok: false, reason: 'too_large' };
        throw new DownloadError(`download interrupted: ${(err as Error).message}`, { status: 0, retryable: true, cause: err });
      }
      await rename(tmp, path);
      return { ok: true, bytes: counter.n };
    },
  };
}

/** Fetches a (small) file into memory, refusing anything past maxBytes. */
export async function fetchBytes(
  dispatcher: Dispatcher,
  url: string,
  opts: { maxBytes: number; headers?: Record<string, string>; timeoutMs?: number },
): Promise<{ bytes: Buffer; contentType: string }> {
  const res = await open(dispatcher, url, opts.headers ?? {}, opts.timeoutMs ?? 30_000);
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > opts.maxBytes) {
    discard(res.body);
    throw new DownloadError(`the file is ${declared} bytes; at most ${opts.maxBytes} are accepted`, { status: 413, retryable: false });
  }
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of res.body) {
    n += (chunk as Buffer).length;
    if (n > opts.maxBytes) {
      discard(res.body);
      throw new DownloadError(`the file is larger than ${opts.maxBytes} bytes`, { status: 413, retryable: false });
    }
    chunks.push(chunk as Buffer);
  }
  return { bytes: Buffer.concat(chunks), contentType: String(res.headers['content-type'] ?? '') };
}
