/**
 * A tiny HTTP endpoint for container health checks:
 * - GET /healthz answers 200 while the process runs (liveness);
 * - GET /readyz answers 200 once the store is open, the core has started and
 *   every configured platform is connected, and 503 with a JSON reason before
 *   that, while the store can't be reached and while shutting down (readiness);
 * - GET /metrics answers the Prometheus text format, when a registry is given.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface Readiness {
  ready: boolean;
  /** Why not, when not ready. */
  reason?: string;
  [k: string]: unknown;
}

export async function startHealthServer(
  port: number,
  host: string,
  status: () => Record<string, unknown>,
  readiness: () => Readiness = () => ({ ready: true }),
  metrics?: Pick<Registry, 'contentType' | 'metrics'>,
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/healthz' || path === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, ...status() }));
    } else if (path === '/readyz') {
      const r = readiness();
      res.writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify(r));
    } else if (path === '/metrics' && metrics) {
      metrics.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`could not collect metrics: ${(err as Error)?.message ?? String(err)}\n`),
      );
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => ok());
  });
  return server;
}
