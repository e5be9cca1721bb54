/**
 * Keeps one chat platform connecting on its own: a platform that fails to
 * connect (or never becomes ready) is logged and tried again with capped,
 * jittered backoff, while the core and the other platforms keep running. Once
 * connected, reconnecting is the client library's job (discord.js resumes the
 * gateway; Socket Mode reconnects its socket), except where the library gives up
 * (`lost`): then the platform is connected again from scratch, the same way.
 */
import type { Logger } from './core/logger.js';

export interface PlatformConnection {
  name: string;
  /** One attempt; throws (after cleaning up) if it did not connect. */
  connect(): Promise<void>;
  connected(): boolean;
  /**
   * Settles when the connection made by the last successful connect() is lost for good (the
   * library won't restore it); connect() is then called again. Without it, a connection is kept
   * up by the library alone.
   */
  lost?(): Promise<Error>;
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

/**
 * Rejects with a clear error if `p` has not settled within `ms`. With `progress`, the wait starts
 * again each time it calls `restart` (for work in steps, such as one shard after another).
 */
export function within<T>(p: Promise<T>, ms: number, what: string, progress?: (restart: () => void) => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let settled = false;
  const timeout = new Promise<never>((_, reject) => {
    const arm = () => {
      if (settled) return;
      clearTimeout(timer);
      timer = setTimeout(() => reject(new Error(`${what} within ${Math.round(ms / 1000)} s`)), ms);
    };
    arm();
    progress?.(arm);
  });
  return Promise.race([p, timeout]).finally(() => {
    settled = true;
    clearTimeout(timer);
  });
}

export function keepConnected(p: PlatformConnection, log: Logger, opts: { minMs?: number; maxMs?: number } = {}): KeptConnection {
  const minMs = opts.minMs ?? RECONNECT_MIN_MS;
  const maxMs = opts.maxMs ?? RECONNECT_MAX_MS;
  let stopped = false;
  let wakeUp: () => void = () => {};
  let onStop: () => void = () => {};
  const stopping = new Promise<void>((r) => (onStop = r));
  let settleFirst: (ok: boolean) => void = () => {};
  const firstAttempt = new Promise<boolean>((r) => (settleFirst = r));

  const pause = (ms: number) =>
    new Promise<void>((r) => {
      const t = setTimeout(r, ms);
      wakeUp = () => {
        clearTimeout(t);
        r();
      };
    });
  const jittered = (ms: number) => Math.round(ms * (0.75 + Math.random() * 0.5));

  const loop = (async () => {
    for (let attempt = 1; !stopped; attempt++) {
      try {
        await p.connect();
      } catch (err) {
        if (stopped) return;
        const waitMs = jittered(Math.min(maxMs, minMs * 2 ** Math.min(attempt - 1, 16)));
        log.error({ err, platform: p.name, attempt, retryInS: Math.round(waitMs / 1000) }, `could not connect to ${p.name}; the rest of the bot keeps running, trying again`);
        settleFirst(false);
        await pause(waitMs);
        continue;
      }
      if (attempt > 1) log.info({ platform: p.name, attempt }, `connected to ${p.name} after ${attempt} attempts`);
      settleFirst(true);
      if (!p.lost) return;
      const lost = await Promise.race([p.lost(), stopping]);
      if (stopped || !lost) return;
      // Lost after it was up: connect again after the first backoff step, counting attempts afresh.
      const waitMs = jittered(minMs);
      log.error({ err: lost, platform: p.name, retryInS: Math.round(waitMs / 1000) }, `lost the connection to ${p.name}; the rest of the bot keeps running, connecting again`);
      await pause(waitMs);
      attempt = 0;
    }
  })();

  return {
    firstAttempt,
    async stop() {
      stopped = true;
      wakeUp();
      onStop();
      settleFirst(false);
      // An attempt under way is not waited for long: stopping the client ends it.
      await Promise.race([loop.catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
      await p.stop().catch((err: unknown) => log.warn({ err, platform: p.name }, `error while disconnecting from ${p.name}`));
    },
  };
}
