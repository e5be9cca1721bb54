// Injected failures: the next N matching calls fail ({ok:false,error} at 200, HTTP 429 + Retry-After, other status),
// are slow, or have their connection dropped; plus an optional chaos function asked about every other call.
import type { AppliedFault, ChaosFn, ChaosRequest, FaultSource, FaultSpec } from './types.js';

export interface FaultOutcome {
  delayMs: number;
  /** After the delay, destroy the connection without answering. */
  reset?: boolean;
  /** Undefined (and no reset) = after the delay, answer normally. */
  reply?: { status: number; headers: Record<string, string>; body: Record<string, unknown> };
  /** The fault as applied, for the call record. */
  fault: AppliedFault;
}

interface ActiveFault {
  spec: FaultSpec;
  remaining: number;
}

/** Methods that only match a fault naming them explicitly. */
const RAW_METHODS = new Set(['UPLOAD', 'FILE_GET', 'RESPONSE_URL']);

/** Returns what is wrong with a fault (matching fields aside), or undefined when it is valid. */
export function faultProblem(spec: FaultSpec): string | undefined {
  if (typeof spec !== 'object' || spec === null) return 'a fault must be an object';
  const answers = spec.error !== undefined || spec.status !== undefined || spec.retryAfterSeconds !== undefined;
  if (!answers && spec.delayMs === undefined && spec.reset !== true) return 'give at least one of error, status, retryAfterSeconds, delayMs, reset';
  if (answers && spec.reset === true) return 'reset cannot be combined with error, status or retryAfterSeconds';
  if (spec.status !== undefined && !(Number.isInteger(spec.status) && spec.status >= 100 && spec.status <= 599)) {
    return `status must be an integer 100..599, got ${String(spec.status)}`;
  }
  for (const key of ['delayMs', 'retryAfterSeconds'] as const) {
    const v = spec[key];
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= 0)) return `${key} must be a number >= 0, got ${String(v)}`;
  }
  return undefined;
}

export class FaultStore {
  private readonly faults: ActiveFault[] = [];
  /** Asked about every call no queued fault matched. */
  chaos: ChaosFn | undefined;

  add(spec: FaultSpec): void {
    const times = spec.times ?? 1;
    if (!Number.isInteger(times) || times < 1) throw new Error(`addFault: times must be a positive integer, got ${String(spec.times)}`);
    const problem = faultProblem(spec);
    if (problem !== undefined) throw new Error(`addFault: ${problem}`);
    this.faults.push({ spec, remaining: times });
  }

  /** Consumes and returns the first queued fault matching `method`, if any. */
  take(method: string): FaultOutcome | undefined {
    const idx = this.faults.findIndex((f) => (f.spec.method === undefined ? !RAW_METHODS.has(method) : f.spec.method === method));
    if (idx < 0) return undefined;
    const fault = this.faults[idx] as ActiveFault;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults.splice(idx, 1);
    return outcome(fault.spec, 'queued');
  }

  /** The first matching queued fault (consuming one use), else what the chaos function returns (validated). */
  next(req: ChaosRequest): FaultOutcome | undefined {
    const queued = this.take(req.method);
    if (queued !== undefined) return queued;
    const spec = this.chaos?.(req);
    if (spec === undefined) return undefined;
    const problem = faultProblem(spec);
    if (problem !== undefined) throw new Error(`invalid chaos fault: ${problem}`);
    return outcome(spec, 'chaos');
  }

  get pending(): number {
    return this.faults.reduce((n, f) => n + f.remaining, 0);
  }
}

function outcome(spec: FaultSpec, source: FaultSource): FaultOutcome {
  const fault: AppliedFault = { ...spec, source };
  const delayMs = spec.delayMs ?? 0;
  if (spec.reset === true) return { delayMs, reset: true, fault };
  const status = spec.status ?? (spec.retryAfterSeconds !== undefined ? 429 : undefined);
  const json = { 'content-type': 'application/json; charset=utf-8' };
  if (status === 429) {
    const headers = { ...json, 'retry-after': String(spec.retryAfterSeconds ?? 1) };
    return { delayMs, reply: { status, headers, body: { ok: false, error: spec.error ?? 'ratelimited' } }, fault };
  }
  if (status !== undefined) return { delayMs, reply: { status, headers: json, body: { ok: false, error: spec.error ?? 'internal_error' } }, fault };
  if (spec.error !== undefined) return { delayMs, reply: { status: 200, headers: json, body: { ok: false, error: spec.error } }, fault };
  return { delayMs, fault };
}
