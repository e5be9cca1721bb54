// HTTP control API under /__emulator/ (on both servers), for tests that run the bot in a child process.
import { faultProblem } from './faults.js';
import { finiteOrNull, isPlainObject, sendJson } from './http-util.js';
import type { Exchange } from './http-util.js';
import type { EmulatorState } from './state.js';
import type { EmulatorSettings, Fault } from './types.js';

/** Applies a partial settings object; returns an error description when invalid (nothing is applied then). */
export function applySettings(state: EmulatorState, value: unknown): string | undefined {
  if (!isPlainObject(value)) return 'settings must be a JSON object';
  const next: Partial<EmulatorSettings> = {};
  for (const [key, v] of Object.entries(value)) {
    switch (key) {
      case 'statusCodeAsString':
        if (typeof v !== 'boolean') return 'statusCodeAsString must be a boolean';
        next.statusCodeAsString = v;
        break;
      case 'createStatus':
        if (v !== 200 && v !== 201 && v !== 'auto') return "createStatus must be 200, 201 or 'auto'";
        next.createStatus = v;
        break;
      case 'completedWord':
        if (v !== 'completed' && v !== 'succeeded') return "completedWord must be 'completed' or 'succeeded'";
        next.completedWord = v;
        break;
      case 'pendingWords':
        if (!Array.isArray(v) || v.length !== 2 || !v.every((w) => typeof w === 'string')) {
          return 'pendingWords must be an array of two strings';
        }
        next.pendingWords = [v[0] as string, v[1] as string];
        break;
      case 'failNext':
        if (!(Number.isInteger(v) && (v as number) >= 0)) return 'failNext must be an integer >= 0';
        next.failNext = v as number;
        break;
      default:
        return `unknown setting ${key}`;
    }
  }
  Object.assign(state.settings, next);
  return undefined;
}

/** Applies {aimlapi?, segmind?}; a null balance means unlimited (Infinity). */
export function applyCredits(state: EmulatorState, value: unknown): string | undefined {
  if (!isPlainObject(value)) return 'credits must be a JSON object';
  const next: Partial<Record<'aimlapi' | 'segmind', number>> = {};
  for (const [key, v] of Object.entries(value)) {
    if (key !== 'aimlapi' && key !== 'segmind') return `unknown credits key ${key}`;
    if (v === null) next[key] = Infinity;
    else if (typeof v === 'number' && !Number.isNaN(v)) next[key] = v;
    else return `${key} must be a number or null`;
  }
  Object.assign(state.credits, next);
  return undefined;
}

function creditsJson(state: EmulatorState): Record<string, number | null> {
  return { aimlapi: finiteOrNull(state.credits.aimlapi), segmind: finiteOrNull(state.credits.segmind) };
}

export async function handleControl(ex: Exchange, reset: () => void): Promise<void> {
  const { state } = ex;
  const route = `${ex.method} ${ex.pathname.replace(/\/+$/, '')}`;
  const bad = (message: string): Promise<void> => sendJson(ex, 400, { error: message });
  if (ex.bodyError !== undefined && ex.method === 'POST') return bad(ex.bodyError);
  switch (route) {
    case 'GET /__emulator/jobs':
      return sendJson(ex, 200, [...state.jobs.values()]);
    case 'GET /__emulator/requests':
      return sendJson(ex, 200, state.requests);
    case 'GET /__emulator/faults':
      return sendJson(ex, 200, state.faults.pending);
    case 'POST /__emulator/faults': {
      const problem = faultProblem(ex.body);
      if (problem) return bad(problem);
      state.faults.add(ex.body as Fault);
      return sendJson(ex, 201, { ok: true, faults: state.faults.pending });
    }
    case 'DELETE /__emulator/faults':
      state.faults.clear();
      return sendJson(ex, 200, { ok: true });
    case 'GET /__emulator/settings':
      return sendJson(ex, 200, state.settings);
    case 'POST /__emulator/settings': {
      const problem = applySettings(state, ex.body ?? {});
      return problem ? bad(problem) : sendJson(ex, 200, state.settings);
    }
    case 'GET /__emulator/credits':
      return sendJson(ex, 200, creditsJson(state));
    case 'POST /__emulator/credits': {
      const problem = applyCredits(state, ex.body ?? {});
      return problem ? bad(problem) : sendJson(ex, 200, creditsJson(state));
    }
    case 'POST /__emulator/reset':
      reset();
      return sendJson(ex, 200, { ok: true });
    default:
      return sendJson(ex, 404, { error: `Unknown control route ${route}` });
  }
}
