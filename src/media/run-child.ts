/**
 * One external program run to completion, off the event loop: spawned (never
 * through a shell), killed when it outlives its timeout or its signal aborts,
 * with stdout collected (bounded) and only a short tail of stderr kept for the
 * error message.
 */
import { spawn } from 'node:child_process';

/** How a run ended; `code` is null when the process was killed. */
export interface ChildResult {
  code: number | null;
  stdout: string;
  /** The last few hundred characters of stderr (ffmpeg is chatty; only the end explains a failure). */
  stderrTail: string;
}

/** Thrown when the program could not be started, timed out, was aborted or exited with an error. */
export class ChildProcessError extends Error {
  constructor(
    message: string,
    readonly reason: 'spawn' | 'timeout' | 'aborted' | 'exit',
    readonly stderrTail = '',
  ) {
    super(message);
    this.name = 'ChildProcessError';
  }
}

export interface RunOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Most stdout kept (ffprobe's JSON is small); more is dropped. */
  maxStdout?: number;
  /** Called once the process exists and once it has exited (the encode limiter's bookkeeping). */
  onStart?(): void;
  onExit?(): void;
}

const TAIL = 600;

/** Runs `command args…`; resolves when it exits with code 0, rejects with ChildProcessError otherwise. */
export function runChild(command: string, args: readonly string[], o: RunOptions): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    if (o.signal?.aborted) return reject(new ChildProcessError(`${command}: stopped`, 'aborted'));
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    let stdout = '';
    let stderr = '';
    let why: 'timeout' | 'aborted' | undefined;
    let started = false;
    const maxStdout = o.maxStdout ?? 1 << 20;
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      if (stdout.length < maxStdout) stdout += s.slice(0, maxStdout - stdout.length);
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr = (stderr + s).slice(-TAIL * 2);
    });
    const kill = (reason: 'timeout' | 'aborted') => {
      why ??= reason;
      child.kill('SIGTERM');
      // ffmpeg finishes its current packet on SIGTERM; one that doesn't within 2 s is killed outright.
      setTimeout(() => child.kill('SIGKILL'), 2000).unref();
    };
    const timer = setTimeout(() => kill('timeout'), o.timeoutMs);
    const onAbort = () => kill('aborted');
    o.signal?.addEventListener('abort', onAbort, { once: true });
    child.once('spawn', () => {
      started = true;
      o.onStart?.();
    });
    let settled = false;
    const done = () => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      if (started) o.onExit?.();
      return true;
    };
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (started || !done()) return; // an error after spawn (a failed kill) is followed by 'close'
      reject(new ChildProcessError(`${command}: ${err.code === 'ENOENT' ? 'not found' : err.message}`, 'spawn'));
    });
    child.once('close', (code, signal) => {
      if (!done()) return;
      const tail = tailOf(stderr);
      if (why === 'timeout') return reject(new ChildProcessError(`${command}: gave up after ${Math.round(o.timeoutMs / 1000)} s`, 'timeout', tail));
      if (why === 'aborted') return reject(new ChildProcessError(`${command}: stopped`, 'aborted', tail));
      if (code !== 0) return reject(new ChildProcessError(`${command} exited with ${code ?? signal}${tail ? `: ${tail}` : ''}`, 'exit', tail));
      resolve({ code, stdout, stderrTail: tail });
    });
  });
}

/** The last lines of stderr, on one line, at most TAIL characters. */
function tailOf(stderr: string): string {
  const t = stderr.trim().split('\n').slice(-4).join(' | ').replace(/\s+/g, ' ');
  return t.length > TAIL ? `…${t.slice(-TAIL)}` : t;
}
