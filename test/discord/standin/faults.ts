// One-shot (or N-shot) REST faults, matched in insertion order.
import { defaultFaultBody } from './errors.js';
import type { FaultSpec } from './types.js';

interface ActiveFault {
  spec: FaultSpec;
  remaining: number;
}

/** What a consumed fault asks the server to do. */
export interface FaultAction {
  delayMs: number;
  /** Absent for a delay-only fault: the call is then handled normally. */
  response?: { status: number; body: unknown; headers: Record<string, string> };
}

export class FaultStore {
  private active: ActiveFault[] = [];

  add(spec: FaultSpec): void {
    if (spec.status === undefined && spec.delayMs === undefined) throw new TypeError('A fault needs a status or a delayMs');
    if (spec.status !== undefined && (!Number.isInteger(spec.status) || spec.status < 100 || spec.status > 599)) {
      throw new TypeError(`Invalid fault status ${String(spec.status)}`);
    }
    if (spec.times !== undefined && (!Number.isInteger(spec.times) || spec.times < 1)) throw new TypeError('fault.times must be a positive integer');
    this.active.push({ spec: { ...spec }, remaining: spec.times ?? 1 });
  }

  clear(): void {
    this.active = [];
  }

  get pending(): FaultSpec[] {
    return this.active.map((a) => ({ ...a.spec, times: a.remaining }));
  }

  /** Consumes one use of the first fault matching the call. */
  take(method: string, path: string): FaultAction | undefined {
    const index = this.active.findIndex(({ spec }) =>
      (spec.method === undefined || spec.method.toUpperCase() === method.toUpperCase()) &&
      (spec.pathIncludes === undefined || path.includes(spec.pathIncludes)));
    const hit = this.active[index];
    if (!hit) return undefined;
    hit.remaining -= 1;
    if (hit.remaining <= 0) this.active.splice(index, 1);
    const { spec } = hit;
    if (spec.status === undefined) return { delayMs: spec.delayMs ?? 0 };
    const body = spec.body ?? defaultFaultBody(spec.status);
    const headers: Record<string, string> = { ...rateLimitDefaults(spec.status, body), ...spec.headers };
    return { delayMs: spec.delayMs ?? 0, response: { status: spec.status, body, headers } };
  }
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
