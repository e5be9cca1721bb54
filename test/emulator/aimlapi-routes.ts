// AIML API: /v2/video/generations (+ legacy alias) create and poll, and the signed-URL CDN.
import { randomInt } from 'node:crypto';
import { sendJson } from './http-util.js';
import type { Exchange } from './http-util.js';
import { createJob, jobPhase, takeCredit } from './state.js';
import { validateAimlBody } from './validation.js';
import type { Issue } from './validation.js';
import { handleAimlCdn, signedVideoUrl } from './video-host.js';

/** Create path → status code of a successful create when settings.createStatus is 'auto'. */
const GENERATION_PATHS: Readonly<Record<string, 200 | 201>> = {
  '/v2/video/generations': 200,
  '/v2/generate/video/bytedance/generation': 201,
};

export const CREDITS_USED = 120000;

export const AIML_MESSAGES: Readonly<Record<number, string>> = {
  400: 'Body validation error!',
  401: 'This request requires a valid API key. Provide it in the Authorization header as "Bearer <YOUR_AIMLAPI_KEY>".',
  403: "You've run out of credits. Please top up your balance to continue.",
  404: 'Not Found',
  429: 'Too Many Requests',
  500: 'Internal server error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Generation timeout',
};

export function isAimlPoll(method: string, pathname: string): boolean {
  return method === 'GET' && GENERATION_PATHS[pathname] !== undefined;
}

export function isAimlCreate(method: string, pathname: string): boolean {
  return method === 'POST' && GENERATION_PATHS[pathname] !== undefined;
}

/** The AIML error envelope, used for every error answered by the AIML server. */
export function aimlError(
  ex: Exchange,
  status: number,
  message = AIML_MESSAGES[status] ?? 'Error',
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<void> {
  const envelope = {
    requestId: ex.requestId,
    statusCode: ex.state.settings.statusCodeAsString ? String(status) : status,
    timestamp: new Date(ex.state.opts.now()).toISOString(),
    path: ex.pathname,
    message,
    ...extra,
  };
  return sendJson(ex, status, envelope, { 'x-request-id': ex.requestId, ...headers });
}

function validationError(ex: Exchange, issues: Issue[]): Promise<void> {
  return aimlError(ex, 400, AIML_MESSAGES[400], { errors: issues });
}

function generationId(now: number): string {
  const stamp = new Date(now).toISOString().replace(/\.\d{3}Z$/, '').replace(/[-:T]/g, '');
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += alphabet[randomInt(alphabet.length)];
  return `cgt-${stamp}-${suffix}`;
}

function authorized(ex: Exchange): boolean {
  const header = ex.req.headers.authorization ?? '';
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] !== undefined && ex.state.opts.aimlapiKeys.includes(match[1]);
}

export async function handleAimlapi(ex: Exchange): Promise<void> {
  if (ex.pathname.startsWith('/cdn/')) return handleAimlCdn(ex);
  const autoStatus = GENERATION_PATHS[ex.pathname];
  if (autoStatus === undefined || (ex.method !== 'POST' && ex.method !== 'GET')) {
    return aimlError(ex, 404, `Cannot ${ex.method} ${ex.pathname}`);
  }
  if (!authorized(ex)) return aimlError(ex, 401);
  return ex.method === 'POST' ? create(ex, autoStatus) : poll(ex);
}

async function create(ex: Exchange, autoStatus: 200 | 201): Promise<void> {
  const { state } = ex;
  if (ex.bodyError !== undefined) return validationError(ex, [{ path: '', message: ex.bodyError }]);
  const { model, issues } = validateAimlBody(ex.body, state.opts.aimlapiSchemas);
  if (issues.length > 0 || model === undefined) return validationError(ex, issues);
  if (!takeCredit(state, 'aimlapi')) return aimlError(ex, 403);
  const body = ex.body as Record<string, unknown>;
  const job = createJob(state, generationId(state.opts.now()), 'aimlapi', model, body);
  const status = state.settings.createStatus === 'auto' ? autoStatus : state.settings.createStatus;
  return sendJson(ex, status, { id: job.id, status: state.settings.pendingWords[0] }, { 'x-request-id': ex.requestId });
}

async function poll(ex: Exchange): Promise<void> {
  const { state } = ex;
  const id = ex.query['generation_id'];
  if (id === undefined || id === '') {
    return aimlError(ex, 400, 'Query validation error!', { errors: [{ path: 'generation_id', message: 'Required' }] });
  }
  const job = state.jobs.get(id);
  if (!job || job.service !== 'aimlapi') return aimlError(ex, 404, `Generation ${id} not found`);
  job.statusPolls += 1;
  const headers: Record<string, string> = { 'x-request-id': ex.requestId };
  if (ex.statusWord !== undefined) return sendJson(ex, 200, { id, status: ex.statusWord }, headers);
  const now = state.opts.now();
  const phase = jobPhase(job, now, state.opts.queuedFraction);
  if (phase !== 'done') {
    const word = state.settings.pendingWords[phase === 'queued' ? 0 : 1];
    return sendJson(ex, 200, { id, status: word }, headers);
  }
  job.firstCompletedSeenAt ??= now;
  if (job.outcome === 'error') {
    const error = { name: 'GenerationError', message: 'Output video may contain sensitive content' };
    return sendJson(ex, 200, { id, status: 'error', error }, headers);
  }
  const result = {
    id,
    status: state.settings.completedWord,
    video: { url: signedVideoUrl(state, job) },
    meta: { usage: { credits_used: CREDITS_USED } },
  };
  return sendJson(ex, 200, result, { ...headers, 'x-aimlapi-credits-used': String(CREDITS_USED) });
}
