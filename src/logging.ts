/**
 * The root pino logger. Secrets are redacted by path, every logged object is
 * bounded and errors reduced to named fields (log-safety.ts), and each finished
 * line is scrubbed of URLs' tokens, token-shaped strings and the configured
 * secrets, and kept under 16 KB.
 */
import pino from 'pino';
import type { Logger } from './core/logger.js';
import { SECRET_PATHS } from './config.js';
import { boundLogObject, safeLine, serializeError } from './log-safety.js';

export function createLogger(level: string, destination: NodeJS.WritableStream | number = 1, secrets: readonly (string | undefined)[] = []): Logger & pino.Logger {
  // Short values would mask ordinary words; real secrets are long.
  const known = [...new Set(secrets.filter((s): s is string => typeof s === 'string' && s.length >= 8))];
  return pino(
    {
      level,
      redact: { paths: SECRET_PATHS, censor: '[redacted]' },
      serializers: { err: (e: unknown) => (e instanceof Error ? serializeError(e) : e) },
      formatters: { log: (obj) => boundLogObject(obj) },
      hooks: { streamWrite: (line) => safeLine(line, known) },
      base: { app: 'seedance-bot' },
    },
    typeof destination === 'number' ? pino.destination({ fd: destination, sync: false }) : destination,
  );
}
