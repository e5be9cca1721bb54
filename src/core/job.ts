/** The job record: everything needed to finish a job after a restart. */
import type { GenerationRequest } from './request.js';
import type { DeliveredAs, ProviderOperation, VideoSource } from './ports.js';

export type JobStatus =
  | 'queued' // admitted and waiting for a slot; nothing submitted
  | 'submitting' // submit in progress: after a crash here we cannot know whether a paid job exists
  | 'running' // submitted; polling
  | 'completed' // provider finished; video not yet handed to the platform
  | 'delivering' // an upload may have started (persisted before each attempt)
  | 'delivered'
  | 'failed'
  | 'timed_out'
  | 'cancelled'
  | 'submit_unknown'; // the create request may have reached the provider; not resent

export const ACTIVE_STATUSES: readonly JobStatus[] = ['queued', 'submitting', 'running', 'completed', 'delivering'];
export const FINAL_STATUSES: readonly JobStatus[] = ['delivered', 'failed', 'timed_out', 'cancelled', 'submit_unknown'];

/** Why a job is waiting before its next delivery attempt. */
export type DeliveryWait = 'platform' | 'download' | 'disk';

export interface JobRecord {
  id: string;
  /** Bumped by every write; a write names the version it expects (compare-and-set). */
  version: number;
  /** Random per write, so a write that failed on the way back can be recognised as ours. */
  writeId?: string;
  /** Surface kind, e.g. `discord`, `terminal`. */
  surface: string;
  /** Stable conversation reference the result goes to. */
  conversation: string;
  requester: { id: string; name?: string };
  /** Where per-place limits are counted (e.g. `discord:guild:<id>`); none for DMs and the terminal. */
  place?: string;
  /** Surface-specific extras (guild id, locale, …). */
  meta: Record<string, string>;
  request: GenerationRequest;
  provider: string;
  status: JobStatus;
  providerStatus?: string;
  operation?: ProviderOperation;
  progressMessage?: string;
  createdAt: number;
  submittedAt?: number;
  completedAt?: number;
  finishedAt?: number;
  updatedAt: number;
  attempts: { submit: number; delivery: number };
  /** Earliest time of the next submit or delivery attempt (backoff that survives a restart). */
  retryAt?: number;
  /** What delivery is waiting for, shown in the progress message. */
  waiting?: DeliveryWait;
  /** Set when someone cancels while the submit is in flight; applied when it returns. */
  cancelRequested?: { by: string; at: number };
  /** The admission no longer counts towards daily limits (nothing was submitted). */
  released?: boolean;
  /** Admitted, but its first message is not known to have been posted: dropped if found so after a crash. */
  unannounced?: boolean;
  result?: {
    video: VideoSource;
    creditsUsed?: number;
    creditsRemaining?: number;
    bytes?: number;
    /** `compressed`: a re-encoded copy that fit the upload limit was posted (`bytes` is the original's size). */
    deliveredAs?: DeliveredAs;
    messageRef?: string;
  };
  error?: { code: string; message: string };
  /** Instance that works on this job; another instance takes over once its lease lapses. */
  owner?: string;
}

/** Delivered, failed, timed out, cancelled or of unknown submit: nothing more will happen. */
export function isFinal(status: JobStatus): boolean {
  return FINAL_STATUSES.includes(status);
}

/** Who a job counts against: one person on one surface. */
export function userKeyOf(job: Pick<JobRecord, 'surface' | 'requester'>): string {
  return `${job.surface}:${job.requester.id}`;
}

/** The UTC day (`YYYY-MM-DD`) a timestamp falls on: daily limits count per UTC day. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
