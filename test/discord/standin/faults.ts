// One-shot (or N-shot) REST faults, matched in insertion order, plus an optional chaos function asked about every
// call no queued fault matched.
import { defaultFaultBody } from './errors.js';
import type { AppliedFault, ChaosFn, ChaosRequest, FaultSource, FaultSpec } from './types.js';

interface ActiveFault {
  spec: FaultSpec;
  remaining: number;
}

/** What a consumed fault asks the server to do. */
export interface FaultAction {
  delayMs: number;
  /** After the delay, destroy the connection without answering. */
  reset?: boolean;
  /** Absent for a delay-only fault: the call is then handled normally. */
  response?: { status: number; body: unknown; headers: Record<string, string> };
  /** The fault as applied, for the call record. */
  fault: AppliedFault;
}

/** Returns what is wrong with a fault, or undefined when it is valid. */
export function faultProblem(spec: FaultSpec): string | undefined {
  if (typeof spec !== 'object' || spec === null) return 'A fault must be an object';
  if (spec.status === undefined && spec.delayMs === undefined && spec.reset !== true) return 'A fault needs a status, a delayMs or reset';
  if (spec.status !== undefined && (!Number.isInteger(spec.status) || spec.status < 100 || spec.status > 599)) {
    return `Invalid fault status ${String(spec.status)}`;
  }
  if (spec.status !== undefined && spec.reset === true) return 'A fault cannot have both a status and reset';
  if (spec.delayMs !== undefined && !(typeof spec.delayMs === 'number' && Number.isFinite(spec.delayMs) && spec.delayMs >= 0)) {
    return 'fault.delayMs must be a number >= 0';
  }
  if (spec.times !== undefined && (!Number.isInteger(spec.times) || spec.times < 1)) return 'fault.times must be a positive integer';
  return undefined;
}

export class FaultStore {
  private active: ActiveFault[] = [];
  /** Asked about every call no queued fault matched; not removed by clear(). */
  chaos: ChaosFn | undefined;

  add(spec: FaultSpec): void {
    const problem = faultProblem(spec);
    if (problem !== undefined) throw new TypeError(problem);
    this.active.push({ spec: { ...spec }, remaining: spec.times ?? 1 });
  }

  clear(): void {
    this.active = [];
  }

  get pending(): FaultSpec[] {
    return this.active.map((a) => ({ ...a.spec, times: a.remaining }));
  }

  /** Consumes one use of the first queued fault matching the call. */
  take(method: string, path: string): FaultAction | undefined {
    const index = this.active.findIndex(({ spec }) =>
      (spec.method === undefined || spec.method.toUpperCase() === method.toUpperCase()) &&
      (spec.pathIncludes === undefined || path.includes(spec.pathIncludes)));
    const hit = this.active[index];
    if (!hit) return undefined;
    hit.remaining -= 1;
    if (hit.remaining <= 0) this.active.splice(index, 1);
    return toAction(hit.spec, 'queued');
  }

  /** The first matching queued fault (consuming one use), else what the chaos function returns (validated). */
  next(req: ChaosRequest): FaultAction | undefined {
    const queued = this.take(req.method, req.path);
    if (queued) return queued;
    const spec = this.chaos?.(req);
    if (spec === undefined) return undefined;
    const problem = faultProblem(spec);
    if (problem !== undefined) throw new TypeError(`Invalid chaos fault: ${problem}`);
    return toAction(spec, 'chaos');
  }
}

function toAction(spec: FaultSpec, source: FaultSource): FaultAction {
  const fault: AppliedFault = { ...spec, source };
  const delayMs = spec.delayMs ?? 0;
  if (spec.reset === true) return { delayMs, reset: true, fault };
  if (spec.status === undefined) return { delayMs, fault };
  const body = spec.body ?? defaultFaultBody(spec.status);
  const headers: Record<string, string> = { ...rateLimitDefaults(spec.status, body), ...spec.headers };
  return { delayMs, response: { status: spec.status, body, headers }, fault };
}

/** A 429 gets the headers Discord sends with it (retry-after in seconds, scope, bucket exhausted). */
function rateLimitDefaults(status: number, body: unknown): Record<string, string> {
  if (status !== 429) return {};
  const retryAfter = typeof body === 'object' && body !== null && 'retry_after' in body ? Number(body.retry_after) : 0.05;
  const global = typeof body === 'object' && body !== null && 'global' in body && body.global === true;
  return {
    'retry-after': String(retryAfter),
    'x-ratelimit-limit': '5',
    'x-ratelimit-remaining': '0',
    'x-ratelimit-reset-after': String(retryAfter),
    'x-ratelimit-reset': ((Date.now() / 1000) + retryAfter).toFixed(3),
    'x-ratelimit-scope': global ? 'global' : 'user',
    ...(global ? { 'x-ratelimit-global': 'true' } : {}),
  };
}
