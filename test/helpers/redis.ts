/**
 * A real `redis-server` (Debian's package; .ci/run installs it) for the tests:
 * started on a free port on 127.0.0.1 with nothing written to disk, ready once
 * it answers PING, and able to fail for real: `pause` stops the process
 * (SIGSTOP: connections stay open and nothing answers), `kill` ends it
 * (connections drop), `restart` starts it again on the same port (empty).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export const REDIS_SERVER = process.env.REDIS_SERVER_PATH ?? 'redis-server';

export interface RedisServerOptions {
  /** Serve TLS only (no plain port), with these PEM files; clients need not present a certificate. */
  tls?: { cert: string; key: string; ca: string };
  /** `requirepass`: clients must AUTH. */
  password?: string;
}

export interface RedisServer {
  port: number;
  /** `redis://127.0.0.1:PORT/DB` (`rediss://:PASSWORD@…` with TLS or a password), with `?prefix=` when given. */
  url(opts?: { db?: number; prefix?: string }): string;
  pid(): number;
  /** Sends one command over a connection of its own (no TLS, no AUTH) and returns the raw answer (RESP text). */
  command(...args: string[]): Promise<string>;
  pause(): void;
  resume(): void;
  /** SIGKILL, waiting for the process to be gone. */
  kill(): Promise<void>;
  /** Starts the server again on the same port (after `kill`), ready for PING. */
  restart(): Promise<void>;
  /** Stops it for good (the last step of a test file). */
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** One command in RESP over a fresh connection; the answer's first chunk (enough for short ones); rejects after `timeoutMs`. */
function rawCommand(port: number, args: string[], timeoutMs = 1000, caPem?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock: Socket = caPem ? tlsConnect({ port, host: '127.0.0.1', ca: caPem }) : connect(port, '127.0.0.1');
    let answer = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`redis on ${port} did not answer ${args[0]}`));
    }, timeoutMs);
    sock.on(caPem ? 'secureConnect' : 'connect', () => sock.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`));
    sock.on('data', (d) => {
      answer += d.toString();
      if (answer.endsWith('\r\n')) {
        clearTimeout(timer);
        sock.end();
        resolve(answer);
      }
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function spawnServer(port: number, opts: RedisServerOptions): ChildProcess {
  const args = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'];
  if (opts.tls) args.push('--port', '0', '--tls-port', String(port), '--tls-cert-file', opts.tls.cert, '--tls-key-file', opts.tls.key, '--tls-ca-cert-file', opts.tls.ca, '--tls-auth-clients', 'no');
  else args.push('--port', String(port));
  if (opts.password) args.push('--requirepass', opts.password);
  const proc = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.on('error', () => undefined); // reported by waitReady (e.g. redis-server not installed)
  return proc;
}

async function waitReady(proc: ChildProcess, port: number, opts: RedisServerOptions): Promise<void> {
  const caPem = opts.tls && readFileSync(opts.tls.ca, 'utf8');
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  let spawnError: Error | undefined;
  proc.once('error', (err) => (spawnError = err));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (spawnError) throw new Error(`could not start ${REDIS_SERVER} (apt-get install redis-server): ${spawnError.message}`);
    if (proc.exitCode !== null) throw new Error(`redis-server exited (${proc.exitCode}):\n${out}`);
    // Any answer will do: with a password PING is refused (-NOAUTH), which still shows the server is up.
    const pong = await rawCommand(port, ['PING'], 500, caPem).catch(() => '');
    if (pong.startsWith('+PONG') || pong.startsWith('-NOAUTH')) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not answer PING on ${port} within 10 s:\n${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const gone = (proc: ChildProcess) => proc.exitCode !== null || proc.signalCode !== null;

async function killProc(proc: ChildProcess): Promise<void> {
  if (gone(proc)) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGKILL');
  await exited;
}

export async function startRedis(opts: RedisServerOptions = {}): Promise<RedisServer> {
  let proc: ChildProcess | undefined;
  let port = 0;
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    proc = spawnServer(port, opts);
    try {
      await waitReady(proc, port, opts);
      break;
    } catch (err) {
      await killProc(proc);
      // Another process may have taken the port between freePort and the server's bind.
      if (attempt >= 2 || /could not start/.test(String(err))) throw err;
    }
  }
  let current: ChildProcess = proc;
  return {
    port,
    url: ({ db = 0, prefix }: { db?: number; prefix?: string } = {}) =>
      `${opts.tls ? 'rediss' : 'redis'}://${opts.password ? `:${encodeURIComponent(opts.password)}@` : ''}127.0.0.1:${port}/${db}${prefix ? `?prefix=${encodeURIComponent(prefix)}` : ''}`,
    pid: () => current.pid!,
    command: (...args) => rawCommand(port, args),
    pause: () => void current.kill('SIGSTOP'),
    resume: () => void current.kill('SIGCONT'),
    kill: () => killProc(current),
    async restart() {
      await killProc(current);
      current = spawnServer(port, opts);
      await waitReady(current, port, opts);
    },
    async stop() {
      if (!gone(current)) current.kill('SIGCONT');
      await killProc(current);
    },
  };
}
