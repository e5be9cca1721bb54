/**
 * Keeps one chat platform connecting on its own: a platform that fails to
 * connect (or never becomes ready) is logged and tried again with capped,
 * jittered backoff, while the core and the other platforms keep running. Once
 * connected, reconnecting is the client library's job (discord.js resumes the
 * gateway; Socket Mode reconnects its socket).
 */
import type { Logger } from './core/logger.js';

export interface PlatformConnection {
  name: string;
  /** One attempt; throws (after cleaning up) if it did not connect. */
  connect(): Promise<void>;
  connected(): boolean;
  /** Disconnects from the platform. */
  stop(): Promise<void>;
}

export interface KeptConnection {
  /** Settles with the outcome of the first attempt (true: connected). */
  firstAttempt: Promise<boolean>;
  /** Stops retrying and disconnects. */
  stop(): Promise<void>;
}

export const RECONNECT_MIN_MS = 1000;
export const RECONNECT_MAX_MS = 60_000;

/** Rejects with a clear error if `p` has not settled within `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export function keepConnected(p: PlatformConnection, log: Logger, opts: { minMs?: number; maxMs?: number } = {}): KeptConnection {
  const minMs = opts.minMs ?? RECONNECT_MIN_MS;
  const maxMs = opts.maxMs ?? RECONNECT_MAX_MS;
  let stopped = false;
  let wakeUp: () => void = () => {};
  let settleFirst: (ok: boolean) => void = () => {};
  const firstAttempt = new Promise<boolean>((r) => (settleFirst = r));

  const loop = (async () => {
    for (let attempt = 1; !stopped; attempt++) {
      try {
        await p.connect();
        if (attempt > 1) log.info({ platform: p.name, attempt }, `connected to ${p.name} after ${attempt} attempts`);
        settleFirst(true);
        return;
      } catch (err) {
        if (stopped) return;
        const base = Math.min(maxMs, minMs * 2 ** Math.min(attempt - 1, 16));
        const waitMs = Math.round(base * (0.75 + Math.random() * 0.5));
        log.error({ err, platform: p.name, attempt, retryInS: Math.round(waitMs / 1000) }, `could not connect to ${p.name}; the rest of the bot keeps running, trying again`);
        settleFirst(false);
        await new Promise<void>((r) => {
          const t = setTimeout(r, waitMs);
          wakeUp = () => {
            clearTimeout(t);
            r();
          };
        });
      }
    }
  })();

  return {
    firstAttempt,
    async stop() {
      stopped = true;
      wakeUp();
      settleFirst(false);
      // An attempt under way is not waited for long: stopping the client ends it.
      await Promise.race([loop.catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
      await p.stop().catch((err: unknown) => log.warn({ err, platform: p.name }, `error while disconnecting from ${p.name}`));
    },
  };
}
