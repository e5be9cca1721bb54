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
  const heap: Entry[] = [];
  const latest = new Map<string, Entry>();
  const waiting: string[] = [];
  const idleWaiters: (() => void)[] = [];
  let seq = 0;
  let running = 0;
  let armedAt = Infinity;
  let cancelTimer: (() => void) | undefined;
  let stopped = false;

  const less = (a: Entry, b: Entry) => a.at < b.at || (a.at === b.at && a.seq < b.seq);
  function push(e: Entry) {
    heap.push(e);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(heap[i]!, heap[p]!)) break;
      [heap[i], heap[p]] = [heap[p]!, heap[i]!];
      i = p;
    }
  }
  function pop(): Entry | undefined {
    const top = heap[0];
    const last = heap.pop();
    if (heap.length && last) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  }
  function peekLive(): Entry | undefined {
    while (heap.length && latest.get(heap[0]!.key) !== heap[0]) pop();
    return heap[0];
  }

  function arm() {
    if (stopped) return;
    const top = peekLive();
    const at = top ? top.at : Infinity;
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
    for (let top = peekLive(); top && top.at <= now; top = peekLive()) {
      pop();
      latest.delete(top.key);
      waiting.push(top.key);
    }
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
      const e = { at, key, seq: ++seq };
      latest.set(key, e);
      push(e);
      if (at < armedAt) arm();
    },
    cancel(key) {
      latest.delete(key);
    },
    dueAt: (key) => latest.get(key)?.at,
    get size() {
      return latest.size;
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
