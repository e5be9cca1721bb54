// Shared mutable state of one emulator instance, plus job timing helpers.
import { randomBytes } from 'node:crypto';
import type { AimlSchemaIndex } from './aimlapi-schemas.js';
import type { FaultStore } from './faults.js';
import type {
  EmulatorCredits,
  EmulatorJob,
  EmulatorSettings,
  RecordedRequest,
  RenderJobInfo,
} from './types.js';

export interface ResolvedOptions {
  aimlapiKeys: string[];
  segmindKeys: string[];
  renderMs: (job: RenderJobInfo) => number;
  queuedFraction: number;
  videoBytes: Buffer;
  videoUrlTtlMs: number;
  segmindResultTtlMs: number;
  now: () => number;
  /** AIML create-request schemas by model (validation.ts validates creates against them). */
  aimlapiSchemas: AimlSchemaIndex;
}

export interface EmulatorState {
  opts: ResolvedOptions;
  aimlapiUrl: string;
  segmindUrl: string;
  jobs: Map<string, EmulatorJob>;
  requests: RecordedRequest[];
  credits: EmulatorCredits;
  settings: EmulatorSettings;
  faults: FaultStore;
  /** Secret for the CDN URL signatures. */
  signingKey: Buffer;
  /** Sleep that ends early (resolving false) when the emulator closes. */
  sleep(ms: number): Promise<boolean>;
}

export function defaultSettings(): EmulatorSettings {
  return {
    statusCodeAsString: false,
    createStatus: 'auto',
    completedWord: 'completed',
    pendingWords: ['queued', 'generating'],
    failNext: 0,
  };
}

export function newSigningKey(): Buffer {
  return randomBytes(32);
}

/** Timers that can all be cut short (resolving false) when the emulator closes. */
export function makeSleeper(): { sleep(ms: number): Promise<boolean>; cancelAll(): void } {
  const pending = new Set<() => void>();
  let closed = false;
  return {
    sleep(ms: number): Promise<boolean> {
      if (closed) return Promise.resolve(false);
      return new Promise((resolve) => {
        const cancel = (): void => {
          clearTimeout(timer);
          pending.delete(cancel);
          resolve(false);
        };
        const timer = setTimeout(() => {
          pending.delete(cancel);
          resolve(true);
        }, Math.max(0, ms));
        pending.add(cancel);
      });
    },
    cancelAll(): void {
      closed = true;
      for (const cancel of [...pending]) cancel();
    },
  };
}

export type JobPhase = 'queued' | 'processing' | 'done';

export function jobPhase(job: EmulatorJob, now: number, queuedFraction: number): JobPhase {
  if (now >= job.readyAt) return 'done';
  const queuedUntil = job.createdAt + queuedFraction * (job.readyAt - job.createdAt);
  return now < queuedUntil ? 'queued' : 'processing';
}

/** Creates a job: computes its render time, consumes settings.failNext, stores it. */
export function createJob(
  state: EmulatorState,
  id: string,
  service: EmulatorJob['service'],
  model: string,
  body: Record<string, unknown>,
): EmulatorJob {
  const createdAt = state.opts.now();
  const raw = state.opts.renderMs({ service, model, body });
  const renderMs = Number.isFinite(raw) && raw > 0 ? raw : 0;
  let outcome: EmulatorJob['outcome'] = 'success';
  if (state.settings.failNext > 0) {
    state.settings.failNext -= 1;
    outcome = 'error';
  }
  const job: EmulatorJob = { id, service, model, body, createdAt, readyAt: createdAt + renderMs, statusPolls: 0, outcome };
  state.jobs.set(id, job);
  return job;
}

/** Takes one credit; false when the balance is exhausted. */
export function takeCredit(state: EmulatorState, service: keyof EmulatorCredits): boolean {
  if (!(state.credits[service] > 0)) return false;
  if (Number.isFinite(state.credits[service])) state.credits[service] -= 1;
  return true;
}
