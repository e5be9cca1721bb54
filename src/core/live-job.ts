/** The in-memory companion of an active job this instance works on. */
import type { RenderEstimate } from './eta.js';
import type { JobRecord } from './job.js';
import type { Unsaved } from './job-machine.js';

/** What the progress reporter remembers about one job's message. */
export interface ProgressState {
  /** Key of the view last sent (see progress.ts `viewKey`). */
  lastKey?: string;
  lastSentAt: number;
  /** An edit is on its way; a newer view waits for it and replaces any older pending one. */
  sending?: Promise<void>;
  dirty: boolean;
  /** The job has ended: no more progress edits. */
  closed: boolean;
}

export interface Live {
  /** The last record known to be stored, with `unsaved` notes (both kept by the job machine). */
  job: JobRecord;
  unsaved?: Unsaved;
  estimate?: RenderEstimate;
  nextPollAt?: number;
  /** When the progress message should next be refreshed. */
  nextProgressAt?: number;
  pollErrors: number;
  /** Delivery failures in a row (for backoff; restarts at 0 after a restart). */
  deliveryFailures: number;
  unknownSince?: number;
  anomaly?: string;
  /** Delivery is re-encoding the video to fit the upload limit (shown in the progress message). */
  compressing?: boolean;
  progress: ProgressState;
  /** A step of this job is running. */
  busy: boolean;
  /** Another wake-up arrived while busy: run again right after. */
  rerun: boolean;
  /** This process has the job's create request in flight. */
  submitting: boolean;
  /** A delivery attempt has been recorded and the upload may go ahead. */
  attemptRecorded: boolean;
  /** Admitted but not yet announced to the user: not submitted until then. */
  held: boolean;
}

export function newLive(job: JobRecord): Live {
  return {
    job,
    pollErrors: 0,
    deliveryFailures: 0,
    progress: { lastSentAt: 0, dirty: false, closed: false },
    busy: false,
    rerun: false,
    submitting: false,
    attemptRecorded: false,
    held: false,
  };
}
