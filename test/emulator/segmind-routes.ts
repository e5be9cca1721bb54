// Segmind: v1 synchronous and v2 asynchronous seedance-v1-lite-image-to-video, request status/results.
import { randomUUID } from 'node:crypto';
import { send, sendJson } from './http-util.js';
import type { Exchange } from './http-util.js';
import { createJob, jobPhase, takeCredit } from './state.js';
import type { EmulatorState } from './state.js';
import type { EmulatorJob } from './types.js';
import { SEGMIND_SLUG, describeIssues, validateSegmindBody } from './validation.js';
import { handleSegmindOutput } from './video-host.js';

export const SEGMIND_MESSAGES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Invalid API key',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  406: 'Insufficient credits',
  429: 'Rate limit exceeded. Please try again later.',
  500: 'Internal server error',
  502: 'Bad gateway',
  503: 'Service unavailable',
  504: 'Gateway timeout',
};

const FAILURE_MESSAGE = 'Video generation failed: output video may contain sensitive content';

export function segmindError(
  ex: Exchange,
  status: number,
  message = SEGMIND_MESSAGES[status] ?? 'Error',
  headers: Record<string, string> = {},
): Promise<void> {
  return sendJson(ex, status, { error: message }, headers);
}

function creditsHeader(state: EmulatorState): Record<string, string> {
  const left = state.credits.segmind;
  return { 'x-remaining-credits': String(Number.isFinite(left) ? left : 1000) };
}

const REQUEST_ROUTE = /^\/(v1|v2)\/requests\/([^/]+?)(\/status)?$/;
const MODEL_ROUTE = /^\/(v1|v2)\/([^/]+)$/;

/** POST /v1|v2/<the Seedance slug> (v1 synchronous, v2 asynchronous). */
export function isSegmindCreate(method: string, pathname: string): boolean {
  return method === 'POST' && MODEL_ROUTE.exec(pathname)?.[2] === SEGMIND_SLUG;
}

/** GET /v1|v2/requests/<id>[/status]. */
export function isSegmindPoll(method: string, pathname: string): boolean {
  return method === 'GET' && REQUEST_ROUTE.test(pathname);
}

export async function handleSegmind(ex: Exchange): Promise<void> {
  if (ex.pathname.startsWith('/outputs/')) return handleSegmindOutput(ex);
  const requestRoute = REQUEST_ROUTE.exec(ex.pathname);
  const modelRoute = MODEL_ROUTE.exec(ex.pathname);
  if (!requestRoute && !modelRoute) return segmindError(ex, 404);
  if (ex.req.headers['x-api-key'] === undefined || !ex.state.opts.segmindKeys.includes(String(ex.req.headers['x-api-key']))) {
    return segmindError(ex, 401);
  }
  if (requestRoute) {
    if (ex.method !== 'GET') return segmindError(ex, 405);
    return requestInfo(ex, decodeURIComponent(requestRoute[2] ?? ''), requestRoute[3] !== undefined);
  }
  const [, version, slug] = modelRoute ?? [];
  if (slug !== SEGMIND_SLUG) return segmindError(ex, 404, `Model ${slug ?? ''} not found`);
  if (ex.method !== 'POST') return segmindError(ex, 405);
  return createRequest(ex, version === 'v1');
}

async function createRequest(ex: Exchange, sync: boolean): Promise<void> {
  const { state } = ex;
  if (ex.bodyError !== undefined) return segmindError(ex, 400, ex.bodyError);
  const issues = validateSegmindBody(ex.body);
  if (issues.length > 0) return segmindError(ex, 400, describeIssues(issues));
  if (!takeCredit(state, 'segmind')) return segmindError(ex, 406);
  const job = createJob(state, randomUUID(), 'segmind', SEGMIND_SLUG, ex.body as Record<string, unknown>);
  if (!sync) {
    const base = state.segmindUrl;
    const payload = {
      request_id: job.id,
      status: 'QUEUED',
      poll_url: `${base}/v1/requests/${job.id}`,
      status_url: `${base}/v2/requests/${job.id}/status`,
      response_url: `${base}/v2/requests/${job.id}`,
    };
    return sendJson(ex, 200, payload, creditsHeader(state));
  }
  // v1 is synchronous: the connection stays open for the whole render.
  if (!(await state.sleep(job.readyAt - job.createdAt))) return;
  job.firstCompletedSeenAt ??= state.opts.now();
  if (job.outcome === 'error') return segmindError(ex, 500, FAILURE_MESSAGE);
  return send(ex, 200, { 'content-type': 'video/mp4', ...creditsHeader(state) }, state.opts.videoBytes);
}

function metrics(job: EmulatorJob): Record<string, number> {
  return { inference_time: Math.round(job.readyAt - job.createdAt) / 1000 };
}

async function requestInfo(ex: Exchange, id: string, statusOnly: boolean): Promise<void> {
  const { state } = ex;
  const now = state.opts.now();
  const job = state.jobs.get(id);
  if (!job || job.service !== 'segmind' || now > job.readyAt + state.opts.segmindResultTtlMs) {
    return segmindError(ex, 404, 'Request not found');
  }
  if (statusOnly) job.statusPolls += 1;
  const phase = jobPhase(job, now, state.opts.queuedFraction);
  if (phase !== 'done') {
    const status = phase === 'queued' ? 'QUEUED' : 'PROCESSING';
    return sendJson(ex, 200, { status, request_id: id, metrics: {} }, creditsHeader(state));
  }
  job.firstCompletedSeenAt ??= now;
  if (job.outcome === 'error') {
    return sendJson(ex, 422, { status: 'FAILED', request_id: id, error: FAILURE_MESSAGE });
  }
  const result: Record<string, unknown> = { status: 'COMPLETED', request_id: id };
  if (!statusOnly) result['output'] = `${state.segmindUrl}/outputs/${id}.mp4`;
  result['metrics'] = metrics(job);
  return sendJson(ex, 200, result, creditsHeader(state));
}
