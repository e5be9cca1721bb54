// Fault injection: a list of one-shot (or N-shot) faults matched in insertion order, plus an optional chaos
// function asked about every request no queued fault matched.
import type { AppliedFault, ChaosFn, ChaosRequest, Fault, FaultKind, RecordedService } from './types.js';

export interface FaultTarget {
  service: RecordedService;
  method: string;
  /** Path including the query string. */
  path: string;
  /** True for an AIML status poll (the only requests a 'statusWord' fault matches). */
  isAimlPoll: boolean;
}

interface ActiveFault {
  fault: Fault;
  remaining: number;
}

const KINDS: readonly FaultKind[] = ['status', 'reset', 'delay', 'slowBody', 'statusWord'];
const SERVICES: readonly RecordedService[] = ['aimlapi', 'segmind', 'cdn'];

export class FaultStore {
  private active: ActiveFault[] = [];
  /** Asked about every request that no queued fault matched; not removed by clear(). */
  chaos: ChaosFn | undefined;

  add(fault: Fault): void {
    const problem = faultProblem(fault);
    if (problem) throw new TypeError(`Invalid fault: ${problem}`);
    this.active.push({ fault: { ...fault }, remaining: fault.times ?? 1 });
  }

  clear(): void {
    this.active = [];
  }

  get pending(): Fault[] {
    return this.active.map((a) => ({ ...a.fault, times: a.remaining }));
  }

  /** Finds the first fault matching the request and consumes one of its uses. */
  take(target: FaultTarget): Fault | undefined {
    const index = this.active.findIndex((a) => matches(a.fault, target));
    const hit = this.active[index];
    if (!hit) return undefined;
    hit.remaining -= 1;
    if (hit.remaining <= 0) this.active.splice(index, 1);
    return hit.fault;
  }

  /**
   * The fault for this request: the first matching queued fault (consuming one use), else what the chaos function
   * returns. Throws a TypeError when the chaos function returns an invalid fault.
   */
  next(req: ChaosRequest): AppliedFault | undefined {
    const queued = this.take(req);
    if (queued) return { ...queued, source: 'queued' };
    const chaos = this.chaos?.(req);
    if (chaos === undefined) return undefined;
    const problem = faultProblem(chaos);
    if (problem) throw new TypeError(`Invalid chaos fault: ${problem}`);
    return { ...chaos, source: 'chaos' };
  }
}

function matches(f: Fault, t: FaultTarget): boolean {
  if (f.service !== undefined && f.service !== t.service) return false;
  if (f.method !== undefined && f.method.toUpperCase() !== t.method.toUpperCase()) return false;
  if (f.pathIncludes !== undefined && !t.path.includes(f.pathIncludes)) return false;
  if (f.kind === 'statusWord' && !t.isAimlPoll) return false;
  return true;
}

function isNonNegNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

/** Returns a description of what is wrong with a fault, or undefined when it is valid. */
export function faultProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be an object';
  const f = value as Record<string, unknown>;
  if (!KINDS.includes(f['kind'] as FaultKind)) return `kind must be one of ${KINDS.join(', ')}`;
  if (f['service'] !== undefined && !SERVICES.includes(f['service'] as RecordedService)) {
    return `service must be one of ${SERVICES.join(', ')}`;
  }
  for (const key of ['method', 'pathIncludes'] as const) {
    if (f[key] !== undefined && typeof f[key] !== 'string') return `${key} must be a string`;
  }
  const times = f['times'];
  if (times !== undefined && !(Number.isInteger(times) && (times as number) >= 1)) return 'times must be an integer >= 1';
  switch (f['kind']) {
    case 'status': {
      const status = f['status'];
      if (!(Number.isInteger(status) && (status as number) >= 200 && (status as number) <= 599)) {
        return 'status fault needs status 200..599';
      }
      if (f['retryAfterSeconds'] !== undefined && !isNonNegNumber(f['retryAfterSeconds'])) {
        return 'retryAfterSeconds must be a number >= 0';
      }
      if (f['ms'] !== undefined && !isNonNegNumber(f['ms'])) return 'ms must be a number >= 0';
      return undefined;
    }
    case 'reset':
      if (f['ms'] !== undefined && !isNonNegNumber(f['ms'])) return 'ms must be a number >= 0';
      return undefined;
    case 'delay':
    case 'slowBody':
      if (!isNonNegNumber(f['ms'])) return `${String(f['kind'])} fault needs ms >= 0`;
      if (f['chunkBytes'] !== undefined && !(Number.isInteger(f['chunkBytes']) && (f['chunkBytes'] as number) >= 1)) {
        return 'chunkBytes must be an integer >= 1';
      }
      return undefined;
    case 'statusWord':
      return typeof f['word'] === 'string' ? undefined : 'statusWord fault needs word';
    default:
      return undefined;
  }
}
