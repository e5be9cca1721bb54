/** The root pino logger, with every secret redacted. */
import pino from 'pino';
import type { Logger } from './core/logger.js';
import { SECRET_PATHS } from './config.js';

export function createLogger(level: string, destination: NodeJS.WritableStream | number = 1): Logger & pino.Logger {
  return pino(
    {
      level,
      redact: { paths: SECRET_PATHS, censor: '[redacted]' },
      serializers: { err: pino.stdSerializers.err },
      base: { app: 'seedance-bot' },
    },
    typeof destination === 'number' ? pino.destination({ fd: destination, sync: false }) : destination,
  );
}
