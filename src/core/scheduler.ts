/**
 * One scheduler for every job: a min-heap of wake-up times and a single timer
 * for the earliest. No timer or loop per job, so 1,000 jobs cost 1,000 heap
 * entries, not 1,000 timers. Work runs with bounded concurrency.
 */
import type { Clock } from './clock.js';

interface Entry {
  at: number;
  key: string;
  seq: number;
}

export interface Scheduler {
  /** (Re)schedules `key` to run at `at`; an earlier entry for the key is replaced. */
  schedule(key: string, at: number): void;
  cancel(key: string): void;
  /** When `key` is due, or undefined. */
  dueAt(key: string): number | undefined;
  readonly size: number;
  /** Resolves when nothing is running. */
  idle(): Promise<void>;
  stop(): void;
}

export function createScheduler(opts: {
  clock: Clock;
  run: (key: string) => Promise<void>;
  concurrency: number;
  onError?: (key: string, err: unknown) => void;
}): Scheduler {
  // An indexed min-heap: each key has one entry and we know where it is, so rescheduling
  // moves it in place (no stale entries piling up when jobs are woken often).
  const heap: Entry[] = [];
  const index = new Map<string, number>();
  const waiting: string[] = [];
  const idleWaiters: (() => void)[] = [];
  let seq = 0;
  let running = 0;
  let armedAt = Infinity;
  let cancelTimer: (() => void) | undefined;
  let stopped = false;

  const less = (a: Entry, b: Entry) => a.at < b.at || (a.at === b.at && a.seq < b.seq);
  function place(i: number, e: Entry) {
    heap[i] = e;
    index.set(e.key, i);
  }
  function up(i: number) {
    const e = heap[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(e, heap[p]!)) break;
      place(i, heap[p]!);
      i = p;
    }
    place(i, e);
  }
  function down(i: number) {
    const e = heap[i]!;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      let best = e;
      if (l < heap.length && less(heap[l]!, best)) [m, best] = [l, heap[l]!];
      if (r < heap.length && less(heap[r]!, best)) [m, best] = [r, heap[r]!];
      if (m === i) break;
      place(i, best);
      i = m;
    }
    place(i, e);
  }
  function remove(key: string): Entry | undefined {
    const i = index.get(key);
    if (i === undefined) return undefined;
    const e = heap[i]!;
    index.delete(key);
    const last = heap.pop()!;
    if (i < heap.length) {
      place(i, last);
      up(i);
      down(index.get(last.key)!);
    }
    return e;
  }

  function arm() {
    if (stopped) return;
    const at = heap.length ? heap[0]!.at : Infinity;
    if (at === armedAt) return;
    cancelTimer?.();
    cancelTimer = undefined;
    armedAt = at;
    if (at !== Infinity) cancelTimer = opts.clock.setTimer(fire, at - opts.clock.now());
  }

  function fire() {
    armedAt = Infinity;
    cancelTimer = undefined;
    const now = opts.clock.now();
    while (heap.length && heap[0]!.at <= now) waiting.push(remove(heap[0]!.key)!.key);
    drain();
    arm();
  }

  function drain() {
    while (!stopped && running < opts.concurrency && waiting.length) {
      const key = waiting.shift()!;
      running++;
      opts
        .run(key)
        .catch((err: unknown) => opts.onError?.(key, err))
        .finally(() => {
          running--;
          drain();
          if (running === 0 && !waiting.length) for (const w of idleWaiters.splice(0)) w();
        });
    }
  }

  return {
    schedule(key, at) {
      const i = index.get(key);
      const e = { at, key, seq: ++seq };
      if (i === undefined) {
        heap.push(e);
        up(heap.length - 1);
      } else {
        const before = heap[i]!;
        place(i, e);
        if (less(e, before)) up(i);
        else down(i);
      }
      arm();
    },
    cancel(key) {
      remove(key);
    },
    dueAt: (key) => {
      const i = index.get(key);
      return i === undefined ? undefined : heap[i]!.at;
    },
    get size() {
      return heap.length;
    },
    idle() {
      if (running === 0 && !waiting.length) return Promise.resolve();
      return new Promise<void>((r) => idleWaiters.push(r));
    },
    stop() {
      stopped = true;
      cancelTimer?.();
      cancelTimer = undefined;
    },
  };
}
