// Injected failures: the next N matching calls fail ({ok:false,error} at 200, HTTP 429 + Retry-After, other status) or are slow.
import type { FaultSpec } from './types.js';

export interface FaultOutcome {
  delayMs: number;
  /** Undefined = after the delay, answer normally. */
  reply?: { status: number; headers: Record<string, string>; body: Record<string, unknown> };
}

interface ActiveFault {
  spec: FaultSpec;
  remaining: number;
}

/** Methods that only match a fault naming them explicitly. */
const RAW_METHODS = new Set(['UPLOAD', 'FILE_GET', 'RESPONSE_URL']);

export class FaultStore {
  private readonly faults: ActiveFault[] = [];

  add(spec: FaultSpec): void {
    const times = spec.times ?? 1;
    if (!Number.isInteger(times) || times < 1) throw new Error(`addFault: times must be a positive integer, got ${String(spec.times)}`);
    if (spec.error === undefined && spec.status === undefined && spec.retryAfterSeconds === undefined && spec.delayMs === undefined) {
      throw new Error('addFault: give at least one of error, status, retryAfterSeconds, delayMs');
    }
    this.faults.push({ spec, remaining: times });
  }

  /** Consumes and returns the first fault matching `method`, if any. */
  take(method: string): FaultOutcome | undefined {
    const idx = this.faults.findIndex((f) => (f.spec.method === undefined ? !RAW_METHODS.has(method) : f.spec.method === method));
    if (idx < 0) return undefined;
    const fault = this.faults[idx] as ActiveFault;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults.splice(idx, 1);
    const { spec } = fault;
    const delayMs = spec.delayMs ?? 0;
    const status = spec.status ?? (spec.retryAfterSeconds !== undefined ? 429 : undefined);
    const json = { 'content-type': 'application/json; charset=utf-8' };
    if (status === 429) {
      return { delayMs, reply: { status, headers: { ...json, 'retry-after': String(spec.retryAfterSeconds ?? 1) }, body: { ok: false, error: spec.error ?? 'ratelimited' } } };
    }
    if (status !== undefined) return { delayMs, reply: { status, headers: json, body: { ok: false, error: spec.error ?? 'internal_error' } } };
    if (spec.error !== undefined) return { delayMs, reply: { status: 200, headers: json, body: { ok: false, error: spec.error } } };
    return { delayMs };
  }

  get pending(): number {
    return this.faults.reduce((n, f) => n + f.remaining, 0);
  }
}
