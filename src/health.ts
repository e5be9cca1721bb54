/**
 * A tiny HTTP endpoint for container health checks:
 * - GET /healthz answers 200 while the process runs (liveness);
 * - GET /readyz answers 200 once the store is open, the core has started and
 *   every configured platform is connected, and 503 with a JSON reason before
 *   that and while shutting down (readiness).
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';

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
