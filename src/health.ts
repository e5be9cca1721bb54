/** A tiny HTTP endpoint for container health checks: GET /healthz. */
import { createServer } from 'node:http';
import type { Server } from 'node:http';

export async function startHealthServer(port: number, host: string, status: () => Record<string, unknown>): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/healthz' || req.url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, ...status() }));
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
