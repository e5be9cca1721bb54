/**
 * The root pino logger. Secrets are redacted by path, every logged object is
 * bounded and errors reduced to named fields (log-safety.ts), and each finished
 * line is scrubbed of URLs' tokens, token-shaped strings and the configured
 * secrets, and kept under 16 KB.
 *
 * With `pretty` (LOG_PRETTY), the scrubbed line is then formatted for people by
 * pino-pretty, synchronously in this thread: scrubbing always comes first, and
 * no worker-thread transport sees a line before it.
 */
import pino from 'pino';
import pinoPretty from 'pino-pretty';
import type { Logger } from './core/logger.js';
import { SECRET_PATHS } from './config.js';
import { boundLogObject, safeLine, serializeError } from './log-safety.js';

/** How the root logger writes its lines. */
export interface LoggerOptions {
  /** Readable lines instead of JSON; default: when the destination is a terminal. */
  pretty?: boolean;
}

type Destination = NodeJS.WritableStream | number;

function isTerminal(destination: Destination): boolean {
  if (destination === 1) return Boolean(process.stdout.isTTY);
  if (destination === 2) return Boolean(process.stderr.isTTY);
  return typeof destination === 'object' && Boolean((destination as { isTTY?: boolean }).isTTY);
}

/** A destination that writes pino-pretty's rendering of each (already scrubbed) JSON line to `out`. */
function prettyDestination(out: pino.DestinationStream & { flush?(cb?: (err?: Error) => void): void }, colorize: boolean): pino.DestinationStream {
  const format = pinoPretty.prettyFactory({ colorize, translateTime: 'SYS:standard', ignore: 'app', singleLine: true });
  return {
    write(line: string) {
      let text: string;
      try {
        text = format(line);
      } catch {
        text = line; // a line pino-pretty can't render is still a scrubbed line
      }
      out.write(text);
    },
    ...(typeof out.flush === 'function' ? { flush: (cb?: (err?: Error) => void) => out.flush!(cb) } : {}),
  } as pino.DestinationStream;
}

export function createLogger(level: string, destination: Destination = 1, secrets: readonly (string | undefined)[] = [], opts: LoggerOptions = {}): Logger & pino.Logger {
  // Short values would mask ordinary words; real secrets are long.
  const known = [...new Set(secrets.filter((s): s is string => typeof s === 'string' && s.length >= 8))];
  const terminal = isTerminal(destination);
  const out = typeof destination === 'number' ? pino.destination({ fd: destination, sync: false }) : (destination as pino.DestinationStream);
  return pino(
    {
      level,
      redact: { paths: SECRET_PATHS, censor: '[redacted]' },
      serializers: { err: (e: unknown) => (e instanceof Error ? serializeError(e) : e) },
      formatters: { log: (obj) => boundLogObject(obj) },
      // Applied to every line before the destination sees it, pretty or not.
      hooks: { streamWrite: (line) => safeLine(line, known) },
      base: { app: 'seedance-bot' },
    },
    (opts.pretty ?? terminal) ? prettyDestination(out, terminal && pinoPretty.isColorSupported) : out,
  );
}
