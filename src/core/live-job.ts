/** The in-memory companion of an active job, shared by the job service's parts. */
import type { RenderEstimate } from './eta.js';
import type { JobRecord } from './job.js';

/** In-memory companion of an active job. */
export interface Live {
  job: JobRecord;
  estimate?: RenderEstimate;
  nextPollAt?: number;
  notBefore?: number;
  pollErrors: number;
  unknownSince?: number;
  anomaly?: string;
  lastKey?: string;
  lastSentAt: number;
  editing?: Promise<void>;
  busy: boolean;
  rerun: boolean;
}

