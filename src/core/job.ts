/** The job record: everything needed to finish a job after a restart. */
import type { GenerationRequest } from './request.js';
import type { ProviderOperation, VideoSource } from './ports.js';

export type JobStatus =
  | 'queued' // waiting for a slot; nothing submitted
  | 'submitting' // submit in progress: after a crash here we cannot know whether a paid job exists
  | 'running' // submitted; polling
  | 'completed' // provider finished; video not yet delivered
  | 'delivering' // delivery started (persisted before the upload)
  | 'delivered'
  | 'failed'
  | 'timed_out'
  | 'cancelled';

export const ACTIVE_STATUSES: readonly JobStatus[] = ['queued', 'submitting', 'running', 'completed', 'delivering'];

export interface JobRecord {
  id: string;
  /** Surface kind, e.g. `discord`, `terminal`. */
  surface: string;
  /** Stable conversation reference the result goes to. */
  conversation: string;
  requester: { id: string; name?: string };
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
  result?: { video: VideoSource; creditsUsed?: number; creditsRemaining?: number; bytes?: number; deliveredAs?: 'file' | 'link'; messageRef?: string };
  error?: { code: string; message: string };
  /** Instance that works on this job; another instance takes over once its lease lapses. */
  owner?: string;
}

/** Delivered, failed, timed out or cancelled: nothing more will happen. */
export function isFinal(status: JobStatus): boolean {
  return !ACTIVE_STATUSES.includes(status);
}
