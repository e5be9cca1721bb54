/**
 * The one place a job's record changes. `commit` decides the event against the
 * record (lifecycle.ts), writes the result with a compare-and-set on its
 * version, and on a conflict re-reads and decides again, so a late event is
 * judged against what is stored now. A store failure is logged with the job id
 * and the write retried with backoff until it lands (or the service stops); the
 * caller goes on only once the new state is durable. Commits (and re-reads) of
 * one job run one at a time.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from './clock.js';
import type { JobRecord, JobStatus } from './job.js';
import { isFinal } from './job.js';
import type { JobStore } from './job-store.js';
import type { JobEvent, Notice } from './lifecycle.js';
import { decide } from './lifecycle.js';
import type { Logger } from './logger.js';
import { backoffMs } from './retry-policy.js';
import type { RetryPolicy } from './retry-policy.js';

/** Thrown out of a commit that was still retrying when the service stopped. */
export class StoppedError extends Error {
  constructor() {
    super('the job service stopped');
    this.name = 'StoppedError';
  }
}

export type Commit =
  | { ok: true; prev: JobStatus; job: JobRecord; notice?: Notice }
  /** `lost`: the job is final or belongs to another instance now; stop working on it. */
  | { ok: false; reason: string; job: JobRecord; lost: boolean };

/** Fields that may change in memory first and be stored with the job's next write. */
export type Unsaved = Partial<Pick<JobRecord, 'providerStatus' | 'progressMessage' | 'conversation'>>;

/** The part of an in-memory job the machine owns: the last record known to be stored, plus `unsaved` notes. */
export interface Held {
  job: JobRecord;
  unsaved?: Unsaved;
}

export function createJobMachine(d: {
  store: Pick<JobStore, 'write' | 'get'>;
  clock: Clock;
  logger: Logger;
  self: string;
  providerLabel(job: JobRecord): string;
  storeRetry: RetryPolicy;
}) {
  const chains = new Map<string, Promise<unknown>>();
  // Unique per write across processes: a random tag per process and a counter.
  const writeTag = randomBytes(6).toString('base64url');
  let writes = 0;
  const sleepers = new Set<() => void>();
  let stopped = false;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        sleepers.delete(wake);
        cancel();
        resolve();
      };
      const cancel = d.clock.setTimer(wake, ms);
      sleepers.add(wake);
    });

  /** Another instance owns `job` now. */
  const elsewhere = (job: JobRecord) => job.owner !== undefined && job.owner !== d.self;

  async function write(h: Held, event: JobEvent, anyOwner: boolean): Promise<Commit> {
    // writeIds of this commit's tries: one that failed on the way back may still have landed.
    const tried = new Set<string>();
    for (let conflicts = 0, failures = 0; ; ) {
      if (stopped) throw new StoppedError();
      const current = h.job;
      const decision = decide(current, event, { now: d.clock.now(), providerLabel: d.providerLabel(current) });
      if (!decision.ok) {
        const lost = isFinal(current.status) || (!anyOwner && elsewhere(current));
        d.logger.warn({ jobId: current.id, status: current.status, event: event.type, reason: decision.reason }, 'transition refused');
        return { ok: false, reason: decision.reason, job: current, lost };
      }
      // decide() made a fresh record: it is ours to mark.
      const next = decision.job;
      next.writeId = `${writeTag}${++writes}`;
      tried.add(next.writeId);
      let result;
      try {
        result = await d.store.write(next, current.version);
      } catch (err) {
        failures++;
        const wait = backoffMs(d.storeRetry, failures);
        d.logger.error({ jobId: current.id, event: event.type, err, attempt: failures, retryInMs: Math.round(wait) }, 'could not save the job; retrying');
        await sleep(wait);
        continue;
      }
      if (result.ok) {
        h.job = result.job;
        h.unsaved = undefined;
        return { ok: true, prev: current.status, job: result.job, ...(decision.notice ? { notice: decision.notice } : {}) };
      }
      const stored = result.current;
      if (!stored) {
        d.logger.error({ jobId: current.id, event: event.type }, 'the job record is gone from the store');
        return { ok: false, reason: 'the record is gone', job: current, lost: true };
      }
      if (stored.writeId && tried.has(stored.writeId)) {
        // An earlier try of this very commit landed before its error came back.
        h.job = stored;
        h.unsaved = undefined;
        return { ok: true, prev: current.status, job: stored, ...(decision.notice ? { notice: decision.notice } : {}) };
      }
      h.job = { ...stored, ...h.unsaved };
      if (!anyOwner && elsewhere(stored)) {
        d.logger.warn({ jobId: current.id, owner: stored.owner, event: event.type }, 'another instance took this job over');
        return { ok: false, reason: 'owned by another instance', job: stored, lost: true };
      }
      if (++conflicts > 8) throw new Error(`job ${current.id}: too many concurrent changes`);
      // Someone else changed it (a cancel from another process): decide again on what is stored.
    }
  }

  /** Runs `fn` after every earlier commit (or re-read) of job `id`. */
  function serial<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = chains.get(id) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    chains.set(id, tail);
    void tail.then(() => {
      if (chains.get(id) === tail) chains.delete(id);
    });
    return run;
  }

  async function reread(h: Held): Promise<{ lost: boolean }> {
    const stored = await d.store.get(h.job.id);
    if (!stored) return { lost: true };
    if (stored.version === h.job.version) return { lost: false };
    h.job = { ...stored, ...h.unsaved };
    return { lost: isFinal(stored.status) || elsewhere(stored) };
  }

  return {
    /**
     * Applies `event` to the job durably; see {@link Commit}. `anyOwner`: on behalf of the
     * user, whichever instance owns the job (a cancel).
     */
    commit(h: Held, event: JobEvent, opts: { anyOwner?: boolean } = {}): Promise<Commit> {
      return serial(h.job.id, () => write(h, event, opts.anyOwner ?? false));
    },
    /**
     * Reads the job again (after any commit of it under way) and keeps what another instance stored
     * meanwhile, such as a cancel handled there. `lost` as for a refused commit: the job is final, gone,
     * or another instance's now. Throws when the store can't be read (nothing is changed then).
     */
    refresh(h: Held): Promise<{ lost: boolean }> {
      return serial(h.job.id, () => reread(h));
    },
    /**
     * Changes fields that need not be stored at once (the provider's status word, which the
     * progress message shows; the first message's reference while the job is about to be
     * submitted): visible now, stored with the job's next write.
     */
    note(h: Held, patch: Unsaved) {
      h.unsaved = { ...h.unsaved, ...patch };
      h.job = { ...h.job, ...patch };
    },
    /** Makes retrying commits give up (with StoppedError) instead of waiting on. */
    stop() {
      stopped = true;
      for (const wake of [...sleepers]) wake();
    },
  };
}

export type JobMachine = ReturnType<typeof createJobMachine>;
