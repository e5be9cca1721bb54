/** Maps HTTP outcomes to the core's typed provider errors; shared by all providers. */
import { ProviderError, RateLimitError } from '../core/errors.js';
import type { HttpResponse } from '../http/http-client.js';
import { NetworkError, retryAfterMs } from '../http/http-client.js';

export function networkFailure(provider: string, err: unknown): ProviderError {
  const n = err instanceof NetworkError ? err : new NetworkError(String(err), 'UNKNOWN', false);
  return new ProviderError('network', `could not reach ${provider}: ${n.message}`, {
    provider,
    status: 0,
    retryable: true,
    notCreated: n.notSent,
    cause: err,
  });
}

/**
 * Turns an error response into a typed error. `codes` lets a provider name its own
 * statuses (AIML: 403 = out of credits; Segmind: 406 = out of credits).
 */
export function httpFailure(provider: string, res: HttpResponse, message: string, codes: Record<number, string>): ProviderError {
  if (res.status === 429) {
    return new RateLimitError(message || 'Too Many Requests', { provider, status: 429, body: res.body, retryAfterMs: retryAfterMs(res.headers) });
  }
  const code = codes[res.status] ?? (res.status >= 500 ? 'provider_unavailable' : res.status >= 400 ? 'provider_rejected' : 'unexpected_response');
  // A 4xx means the provider refused the request: no job exists. 5xx and oddities: unknown.
  const notCreated = res.status >= 400 && res.status < 500;
  return new ProviderError(code, message || `HTTP ${res.status}`, { provider, status: res.status, body: res.body, notCreated });
}

/** Pulls a human message out of the many error shapes providers use. */
export function errorText(body: unknown): string {
  if (typeof body === 'string') return body.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 300);
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    const parts: string[] = [];
    for (const k of ['message', 'error', 'detail', 'details', 'errors']) {
      const v = b[k];
      if (typeof v === 'string') parts.push(v);
      else if (v && typeof v === 'object') {
        const inner = errorText(v);
        if (inner) parts.push(inner);
      }
    }
    if (Array.isArray(body)) parts.push(...body.map(errorText).filter(Boolean));
    return [...new Set(parts)].join(': ').slice(0, 500);
  }
  return '';
}
