/**
 * The job store port. Every operation a job's life depends on is atomic in the
 * store itself (no index or counter is rebuilt in process memory), and every
 * failure is thrown, never answered as "nothing there":
 * - `admit` inserts a job only if every limit still admits it (one statement);
 * - `write` is a compare-and-set on the record's version;
 * - `claimOrphans` takes over jobs whose owner's lease has lapsed, in one step,
 *   so an unreadable lease can never count as "owner gone".
 * Implemented over SQLite and over Redis (one Lua script per atomic step) in `src/store/`.
 */
import type { RenderStats } from './eta.js';
import type { JobRecord } from './job.js';

/** Limits checked atomically when a job is admitted. `undefined` = no such limit. */
export interface AdmissionLimits {
  /** Unfinished jobs (waiting, at the provider, being delivered) one person may have. */
  perUserActive: number;
  /** Jobs waiting in the queue across everyone. */
  queueLength?: number;
  /** Jobs one person may start per UTC day, wherever they start them. */
  perUserDaily?: number;
  /** Jobs one person may start per UTC day in the job's place (e.g. a Discord server). */
  placeDaily?: number;
}

export type AdmissionLimit = 'user_active' | 'queue_length' | 'user_daily' | 'place_daily';

export type Admission = { ok: true; job: JobRecord } | { ok: false; limit: AdmissionLimit };

/** What one person has going, for refusal messages and usage displays. */
export interface Usage {
  /** Their unfinished jobs, and how many of those are still waiting in our queue. */
  active: number;
  queued: number;
  /** Jobs they started today (UTC) that count towards daily limits, anywhere and in `place`. */
  today: number;
  todayInPlace: number;
  /** Jobs waiting in the queue across everyone. */
  queueLength: number;
}

/** An instance's liveness: alive exactly while `expiresAt` is in the future. */
export interface InstanceLease {
  instance: string;
  expiresAt: number;
  /** Identifies one kernel and pid namespace (see instance.ts); absent where it can't be told. */
  host?: string;
  pid?: number;
  /** The process's start time as the kernel reports it, so a reused pid is not mistaken for it. */
  started?: string;
}

export type WriteResult = { ok: true; job: JobRecord } | { ok: false; current: JobRecord | undefined };

export interface JobStore {
  /** Inserts a new job (version 1) if every limit admits it, atomically with the counting. */
  admit(job: JobRecord, limits: AdmissionLimits): Promise<Admission>;
  usage(q: { surface: string; requesterId: string; place?: string; day: string }): Promise<Usage>;
  get(id: string): Promise<JobRecord | undefined>;
  /**
   * The stored version of each of `ids` that exists: a cheap check for jobs another instance changed
   * (any write or claim moves the version), so only those need to be read again.
   */
  versions(ids: readonly string[]): Promise<Map<string, number>>;
  /**
   * Writes `next` (with version `expectedVersion + 1`) only if the stored record still has
   * `expectedVersion`; otherwise returns what is stored now. `next` is handed over: the store
   * may keep it (and set its version) rather than copy it.
   */
  write(next: JobRecord, expectedVersion: number): Promise<WriteResult>;
  /**
   * Claims up to `limit` unfinished jobs of `surfaces` whose owner is neither `self` nor alive:
   * no owner, an owner in `deadOwners`, or an owner without a fresh lease. Atomic; returns them.
   */
  claimOrphans(q: { surfaces: readonly string[]; self: string; now: number; deadOwners: readonly string[]; limit: number }): Promise<JobRecord[]>;
  /** One person's most recent jobs (any status), newest first. */
  recent(q: { surface: string; requesterId: string; limit: number }): Promise<JobRecord[]>;
  /** Ids of unfinished jobs of a surface (any owner). */
  activeIds(surface: string): Promise<string[]>;
  /**
   * Deletes up to `limit` finished jobs last written before `before` (oldest first), with
   * everything stored for them alone; unfinished jobs are never touched, however old. Returns
   * how many went: fewer than `limit` means none are left. Callers loop in batches, so a large
   * purge never holds the store for long.
   */
  purgeFinished(q: { before: number; limit: number }): Promise<number>;
  putLease(lease: InstanceLease): Promise<void>;
  /** Fresh leases of instances on `host`, for the same-host crash shortcut. */
  leasesOnHost(host: string, now: number): Promise<InstanceLease[]>;
  /**
   * Records a platform event (an interaction, message or Slack event id) the first time it is
   * seen: true for the first claim, false for every later copy until `expiresAt` has passed.
   * Atomic, so two copies arriving together cannot both be first.
   */
  claimEvent(key: string, now: number, expiresAt: number): Promise<boolean>;
  getStats(key: string): Promise<RenderStats | undefined>;
  putStats(key: string, stats: RenderStats): Promise<void>;
}
