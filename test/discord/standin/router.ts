// Route table types and matching for the REST stand-in.
import type { World } from './message-ops.js';
import type { UploadedFile } from './multipart.js';

export interface RestContext extends World {
  method: string;
  /** Decoded path relative to /api/v10. */
  path: string;
  params: Record<string, string>;
  query: Record<string, string>;
  auth?: string;
  /** The JSON payload when it is an object, else {}. */
  body: Record<string, unknown>;
  /** The JSON payload as sent (may be an array). */
  json: unknown;
  files: UploadedFile[];
}

export interface RestReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Handler = (ctx: RestContext) => RestReply | Promise<RestReply>;

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** '/channels/:channelId/messages' */
  pattern: string;
  /** true: needs `Authorization: Bot <token>`; false: interaction/webhook token routes. */
  auth: boolean;
  handler: Handler;
}

export type RouteMatch = { route: Route; params: Record<string, string> } | 'method-not-allowed' | undefined;

function matchPattern(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i += 1) {
    const w = want[i] as string;
    const g = got[i] as string;
    if (w.startsWith(':')) {
      if (g === '') return undefined;
      params[w.slice(1)] = g;
    } else if (w !== g) {
      return undefined;
    }
  }
  return params;
}

/** Literal segments win over parameters ('/users/@me' before '/users/:id'). */
function specificity(pattern: string): number {
  return pattern.split('/').filter((s) => s !== '' && !s.startsWith(':')).length;
}

export function matchRoute(routes: Route[], method: string, path: string): RouteMatch {
  const hits = routes
    .map((route) => ({ route, params: matchPattern(route.pattern, path) }))
    .filter((h): h is { route: Route; params: Record<string, string> } => h.params !== undefined)
    .sort((a, b) => specificity(b.route.pattern) - specificity(a.route.pattern));
  if (hits.length === 0) return undefined;
  return hits.find((h) => h.route.method === method) ?? 'method-not-allowed';
}

/** A JSON reply. */
export const json = (body: unknown, status = 200): RestReply => ({ status, body });
export const noContent = (): RestReply => ({ status: 204 });
