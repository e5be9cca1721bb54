/**
 * The queue of admitted jobs waiting for a slot, and the count of jobs at the
 * provider. Arrival order, a global cap and a per-person cap; queue positions
 * from a Fenwick tree, so taking a job, leaving the queue and asking a position
 * each cost O(log n) whatever the number of jobs in flight.
 */
import type { JobRecord, JobStatus } from './job.js';
import { userKeyOf } from './job.js';

interface Slot<T> {
  item: T;
  seq: number;
}

/** Counts present entries by arrival sequence. */
class Fenwick {
  private tree: number[] = [0];
  grow(n: number) {
    if (n < this.tree.length) return;
    const size = Math.max(n + 1, this.tree.length * 2);
    const values = this.values();
    this.tree = new Array<number>(size).fill(0);
    values.forEach((v, i) => v && this.add(i, v));
  }
  private values(): number[] {
    const out: number[] = [];
    for (let i = 0; i + 1 < this.tree.length; i++) out.push(this.prefix(i) - (i ? this.prefix(i - 1) : 0));
    return out;
  }
  add(i: number, delta: number) {
    for (let x = i + 1; x < this.tree.length; x += x & -x) this.tree[x]! += delta;
  }
  /** Sum of entries 0..i. */
  prefix(i: number): number {
    let s = 0;
    for (let x = i + 1; x > 0; x -= x & -x) s += this.tree[x]!;
    return s;
  }
}

const IN_FLIGHT: readonly JobStatus[] = ['submitting', 'running'];

export function createJobQueue<T extends { job: JobRecord }>(limits: { maxInFlight: number; maxPerUser: number }) {
  let order: (Slot<T> | undefined)[] = [];
  let head = 0;
  let fenwick = new Fenwick();
  const slots = new Map<string, Slot<T>>();
  const flying = new Set<string>();
  const flyingPerUser = new Map<string, number>();

  function compact() {
    const live = order.filter((s): s is Slot<T> => s !== undefined);
    order = live;
    head = 0;
    fenwick = new Fenwick();
    fenwick.grow(live.length);
    live.forEach((s, i) => {
      s.seq = i;
      fenwick.add(i, 1);
    });
  }

  function enqueue(item: T) {
    if (slots.has(item.job.id)) return;
    const slot = { item, seq: order.length };
    order.push(slot);
    fenwick.grow(order.length);
    fenwick.add(slot.seq, 1);
    slots.set(item.job.id, slot);
  }

  function dequeue(id: string) {
    const slot = slots.get(id);
    if (!slot) return;
    slots.delete(id);
    order[slot.seq] = undefined;
    fenwick.add(slot.seq, -1);
    while (head < order.length && order[head] === undefined) head++;
    if (order.length > 1024 && order.length > 2 * slots.size) compact();
  }

  function fly(job: JobRecord, on: boolean) {
    if (flying.has(job.id) === on) return;
    const u = userKeyOf(job);
    if (on) flying.add(job.id);
    else flying.delete(job.id);
    const n = (flyingPerUser.get(u) ?? 0) + (on ? 1 : -1);
    if (n > 0) flyingPerUser.set(u, n);
    else flyingPerUser.delete(u);
  }

  return {
    /** Puts the item where its job's status says: in the queue, in flight, or neither. */
    track(item: T) {
      const s = item.job.status;
      if (s === 'queued') enqueue(item);
      else dequeue(item.job.id);
      fly(item.job, IN_FLIGHT.includes(s));
    },
    forget(item: T) {
      dequeue(item.job.id);
      fly(item.job, false);
    },
    /**
     * Takes the jobs that may be submitted now (oldest first, within the caps, at most `most`)
     * out of the queue and counts them in flight. `wakeAt`: when a job held back by its retry time is due.
     */
    take(now: number, most = Infinity): { items: T[]; wakeAt?: number } {
      const items: T[] = [];
      let wakeAt: number | undefined;
      let free = Math.min(most, limits.maxInFlight - flying.size);
      for (let i = head; i < order.length && free > 0; i++) {
        const slot = order[i];
        if (!slot) continue;
        const job = slot.item.job;
        if (job.retryAt !== undefined && job.retryAt > now) {
          wakeAt = Math.min(wakeAt ?? Infinity, job.retryAt);
          continue;
        }
        if ((flyingPerUser.get(userKeyOf(job)) ?? 0) >= limits.maxPerUser) continue;
        items.push(slot.item);
        fly(job, true);
        free--;
      }
      for (const item of items) dequeue(item.job.id);
      return { items, ...(wakeAt !== undefined ? { wakeAt } : {}) };
    },
    /** 1-based position in the queue, or undefined when not queued here. */
    position(id: string): number | undefined {
      const slot = slots.get(id);
      return slot ? fenwick.prefix(slot.seq) : undefined;
    },
    /** Jobs waiting in the queue. */
    get waiting(): number {
      return slots.size;
    },
    get inFlight(): number {
      return flying.size;
    },
    /** Queued items in order (for refreshing their positions). */
    *queued(): Generator<T> {
      for (let i = head; i < order.length; i++) {
        const slot = order[i];
        if (slot) yield slot.item;
      }
    },
  };
}

export type JobQueue<T extends { job: JobRecord }> = ReturnType<typeof createJobQueue<T>>;
