/**
 * A task run at most once per period when asked (the lease heartbeat asks),
 * one run at a time, never throwing: e.g. hourly clean-ups. Time is the
 * injected clock's.
 */
import type { Clock } from './clock.js';

export interface Periodic {
  /** Starts the task if it isn't running and its period has passed since the last start. */
  due(): void;
  /** The run under way, if any (waited for when stopping). */
  underWay(): Promise<void> | undefined;
}

export function createPeriodic(o: {
  clock: Clock;
  everyMs: number;
  /** Whether the first `due()` runs it at once (else one period after creation). */
  atFirstCall: boolean;
  task: () => Promise<unknown>;
  /** Called with what the task threw; the next try is a period later. */
  onError: (err: unknown) => void;
}): Periodic {
  let lastAt: number | undefined = o.atFirstCall ? undefined : o.clock.now();
  let running: Promise<void> | undefined;
  return {
    due() {
      if (running || (lastAt !== undefined && o.clock.now() - lastAt < o.everyMs)) return;
      lastAt = o.clock.now();
      running = o
        .task()
        .then(
          () => undefined,
          (err: unknown) => o.onError(err),
        )
        .finally(() => (running = undefined));
    },
    underWay: () => running,
  };
}
