/**
 * The job lifecycle as data: which status may follow which, and what each event
 * does to a record. `decide` is pure; the job machine writes its result with a
 * compare-and-set, so an event that arrives late (a poll that completes after a
 * cancel, a submit that returns after a cancel) is judged against what is
 * stored now, and a final status is never left.
 */
import type { JobRecord, JobStatus, DeliveryWait } from './job.js';
import { isFinal } from './job.js';
import type { DeliveredAs, ProviderOperation, VideoSource } from './ports.js';

/** Allowed next statuses. Staying in an active status (a patch) is allowed; leaving a final one never is. */
export const TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  queued: ['queued', 'submitting', 'cancelled', 'failed'],
  submitting: ['submitting', 'queued', 'running', 'completed', 'failed', 'submit_unknown', 'cancelled'],
  running: ['running', 'completed', 'failed', 'timed_out', 'cancelled'],
  completed: ['completed', 'delivering', 'failed'],
  delivering: ['delivering', 'delivered', 'failed'],
  delivered: [],
  failed: [],
  timed_out: [],
  cancelled: [],
  submit_unknown: [],
};

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** What a step found out, or what someone asked for. The machine turns it into a write. */
export type JobEvent =
  /** The surface posted the first message (and may have chosen the conversation). */
  | { type: 'announced'; progressMessage: string; conversation?: string }
  /** Found after a restart without its first message: the user never saw it (and has likely asked again). */
  | { type: 'unannounced' }
  | { type: 'submit_begin' }
  | { type: 'submit_ok'; operation: ProviderOperation; providerStatus?: string }
  /** The provider certainly made no job (429, no connection): try again at `at`. */
  | { type: 'submit_retry'; at: number }
  /** The provider certainly made no job and won't: nothing was charged. */
  | { type: 'submit_refused'; code: string; text: string }
  /** The create request may have reached the provider: not resent. */
  | { type: 'submit_unknown'; text: string }
  /** Found in `submitting` after a restart. */
  | { type: 'submit_interrupted'; text: string }
  | { type: 'provider_status'; providerStatus: string }
  | { type: 'rendered'; providerStatus: string; video: VideoSource; creditsUsed?: number; creditsRemaining?: number }
  | { type: 'render_failed'; code: string; text: string }
  | { type: 'timed_out'; text: string }
  /** An upload attempt starts (persisted before it, so a crash during it is known). */
  | { type: 'delivery_attempt'; bytes?: number }
  | { type: 'delivery_wait'; at: number; waiting: DeliveryWait }
  | { type: 'delivered'; deliveredAs: DeliveredAs; messageRef: string; conversation: string; bytes?: number }
  | { type: 'undeliverable'; code: string; text: string }
  | { type: 'cancel'; by: string }
  | { type: 'progress_gone'; ref: string }
  /** Anything else that ends a job (a provider removed from the config, …). */
  | { type: 'fail'; code: string; text: string };

/** A final message for the user, shown in place of the progress message. */
export interface Notice {
  kind: 'failed' | 'cancelled';
  text: string;
}

export type Decision = { ok: true; job: JobRecord; notice?: Notice } | { ok: false; reason: string };

export interface DecideContext {
  now: number;
  /** The provider's name as users know it ("AIML API"). */
  providerLabel: string;
}

const CANCEL_QUEUED = 'Cancelled before it was submitted; nothing was charged.';
const CANCEL_RUNNING = 'Cancelled: the bot stopped tracking this job. The provider may still finish it and charge for it.';

function refuse(reason: string): Decision {
  return { ok: false, reason };
}

/** Applies `event` to `job` (not modified): the next record, or why the event does not apply. */
export function decide(job: JobRecord, event: JobEvent, c: DecideContext): Decision {
  const from = job.status;
  if (isFinal(from)) return refuse(`the job is already ${from}`);
  const next: JobRecord = { ...job, updatedAt: c.now };
  const to = (status: JobStatus, patch: Partial<JobRecord> = {}, notice?: Notice): Decision => {
    if (!canTransition(from, status)) return refuse(`${event.type} does not apply to a ${from} job`);
    Object.assign(next, patch, { status });
    if (isFinal(status)) {
      next.finishedAt = c.now;
      delete next.retryAt;
      delete next.waiting;
    }
    return { ok: true, job: next, ...(notice ? { notice } : {}) };
  };
  const fail = (status: JobStatus, code: string, text: string, release = false): Decision =>
    to(status, { error: { code, message: text }, ...(release ? { released: true } : {}) }, { kind: status === 'cancelled' ? 'cancelled' : 'failed', text });

  switch (event.type) {
    case 'announced':
      return to(from, { progressMessage: event.progressMessage, unannounced: undefined, ...(event.conversation ? { conversation: event.conversation } : {}) });
    case 'unannounced':
      if (from !== 'queued' || !job.unannounced) return refuse(`${event.type} does not apply to a ${from} job`);
      return to('failed', { error: { code: 'not_announced', message: 'The first message was never posted; dropped after a restart.' }, released: true });
    case 'submit_begin':
      return to('submitting', { attempts: { ...job.attempts, submit: job.attempts.submit + 1 }, retryAt: undefined });
    case 'submit_ok':
      if (job.cancelRequested) {
        const id = event.operation.id;
        return fail('cancelled', 'cancelled', `Cancelled. ${c.providerLabel} had already accepted the job (${id}), so it may still finish it and charge for it.`);
      }
      return to('running', { operation: event.operation, submittedAt: c.now, ...(event.providerStatus ? { providerStatus: event.providerStatus } : {}) });
    case 'submit_retry':
      if (job.cancelRequested) return fail('cancelled', 'cancelled', CANCEL_QUEUED, true);
      return to('queued', { retryAt: event.at });
    case 'submit_refused':
      if (job.cancelRequested) return fail('cancelled', 'cancelled', CANCEL_QUEUED, true);
      return fail('failed', event.code, event.text, true);
    case 'submit_unknown':
      return fail('submit_unknown', 'submit_unknown', event.text);
    case 'submit_interrupted':
      if (from !== 'submitting') return refuse(`${event.type} does not apply to a ${from} job`);
      return fail('submit_unknown', 'submit_unknown', event.text);
    case 'provider_status':
      if (from !== 'running') return refuse(`${event.type} does not apply to a ${from} job`);
      return to('running', { providerStatus: event.providerStatus });
    case 'rendered':
      if (from !== 'running' && from !== 'submitting') return refuse(`${event.type} does not apply to a ${from} job`);
      if (job.cancelRequested) return fail('cancelled', 'cancelled', CANCEL_RUNNING);
      return to('completed', {
        providerStatus: event.providerStatus,
        completedAt: c.now,
        ...(from === 'submitting' ? { submittedAt: c.now } : {}),
        result: {
          video: event.video,
          ...(event.creditsUsed !== undefined ? { creditsUsed: event.creditsUsed } : {}),
          ...(event.creditsRemaining !== undefined ? { creditsRemaining: event.creditsRemaining } : {}),
        },
      });
    case 'render_failed':
      if (from !== 'running' && from !== 'submitting') return refuse(`${event.type} does not apply to a ${from} job`);
      return fail('failed', event.code, event.text);
    case 'timed_out':
      if (from !== 'running') return refuse(`${event.type} does not apply to a ${from} job`);
      return fail('timed_out', 'timeout', event.text);
    case 'delivery_attempt':
      if (from !== 'completed' && from !== 'delivering') return refuse(`${event.type} does not apply to a ${from} job`);
      return to('delivering', {
        attempts: { ...job.attempts, delivery: job.attempts.delivery + 1 },
        retryAt: undefined,
        waiting: undefined,
        ...(event.bytes !== undefined && job.result ? { result: { ...job.result, bytes: event.bytes } } : {}),
      });
    case 'delivery_wait':
      if (from !== 'completed' && from !== 'delivering') return refuse(`${event.type} does not apply to a ${from} job`);
      return to(from, { retryAt: event.at, waiting: event.waiting });
    case 'delivered':
      if (!job.result) return refuse('there is no result to deliver');
      return to('delivered', {
        conversation: event.conversation,
        result: { ...job.result, deliveredAs: event.deliveredAs, messageRef: event.messageRef, ...(event.bytes !== undefined ? { bytes: event.bytes } : {}) },
      });
    case 'undeliverable':
      if (from !== 'completed' && from !== 'delivering') return refuse(`${event.type} does not apply to a ${from} job`);
      return fail('failed', event.code, event.text);
    case 'cancel':
      switch (from) {
        case 'queued':
          return fail('cancelled', 'cancelled', CANCEL_QUEUED, true);
        case 'submitting':
          // The create request is on its way: the answer decides (see submit_*).
          return to('submitting', { cancelRequested: { by: event.by, at: c.now } });
        case 'running':
          return fail('cancelled', 'cancelled', CANCEL_RUNNING);
        default:
          return refuse('the video is already being delivered');
      }
    case 'progress_gone':
      if (job.progressMessage !== event.ref) return refuse('the progress message has changed');
      return to(from, { progressMessage: undefined });
    case 'fail':
      return fail('failed', event.code, event.text, from === 'queued');
  }
}
