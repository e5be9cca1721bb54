/**
 * A TCP proxy on 127.0.0.1 in front of a server, for cutting one client off
 * (a network partition) while others reach the server directly: `hold()`
 * stops carrying bytes either way on every connection, old and new, as a link
 * that drops packets would (TCP would retransmit them, so they are kept and
 * delivered on `release()`, unless the client gave up and closed meanwhile).
 */
import { createServer, connect } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  hold(): void;
  release(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host?: string; port: number }): Promise<TcpProxy> {
  let held = false;
  const flushers = new Set<() => void>();
  const sockets = new Set<Socket>();
  /** Carries `from`'s bytes to `to`, keeping them while held. */
  function carry(from: Socket, to: Socket) {
    const kept: Buffer[] = [];
    const flush = () => {
      while (!held && kept.length && !to.destroyed) to.write(kept.shift()!);
    };
    flushers.add(flush);
    from.on('data', (b: Buffer) => {
      kept.push(b);
      flush();
    });
    from.on('close', () => {
      flushers.delete(flush);
      to.destroy();
    });
    from.on('error', () => to.destroy());
  }
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host ?? '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    carry(client, upstream);
    carry(upstream, client);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    port: (server.address() as AddressInfo).port,
    hold() {
      held = true;
    },
    release() {
      held = false;
      for (const f of flushers) f();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}
