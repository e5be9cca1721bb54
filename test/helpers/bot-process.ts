/**
 * The real bot (`src/index.ts`) as a child process, for end-to-end tests:
 * started with a clean environment aimed at local stand-ins, ready once it logs
 * that it is running.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { DEFAULT_AIMLAPI_KEY } from '../emulator/provider-emulator.js';
import type { ProviderEmulator } from '../emulator/provider-emulator.js';

export interface BotProcess {
  /** Everything the bot printed so far. */
  output(): string;
  start(env: Record<string, string>): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Sends a signal to the running bot without waiting for it to exit (false if no bot is running). */
  signal(signal: NodeJS.Signals): boolean;
  /**
   * Settles when the bot last started exits (at once if it already has), with its exit code, or the signal that
   * ended it, and when that was (Date.now()).
   */
  exited(): Promise<BotExit>;
}

export interface BotExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

/** Environment every test bot gets: the emulator as its provider, fast polling, a private data dir. */
export function baseBotEnv(emulator: ProviderEmulator, dataDir: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    AIMLAPI_BASE_URL: emulator.aimlapiUrl,
    AIMLAPI_KEY: DEFAULT_AIMLAPI_KEY,
    DATA_DIR: dataDir,
    HEALTH_PORT: '0',
    HEALTH_HOST: '127.0.0.1',
    POLL_MIN_INTERVAL_MS: '100',
    POLL_MAX_INTERVAL_MS: '1000',
    LOG_LEVEL: 'info',
  };
}

export function botProcess(): BotProcess {
  let child: ChildProcess | undefined;
  let exit: Promise<BotExit> | undefined;
  let out = '';
  return {
    output: () => out,
    async start(env) {
      const marks = out.split('seedance-bot is running').length;
      const proc = spawn(process.execPath, ['--import', 'tsx', 'src/index.ts'], { cwd: join(import.meta.dirname, '../..'), env, stdio: ['ignore', 'pipe', 'pipe'] });
      child = proc;
      exit = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
      proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
      proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
      // Logged once unfinished jobs have been resumed and every platform's first connection attempt has settled.
      const deadline = Date.now() + 30_000;
      while (out.split('seedance-bot is running').length <= marks) {
        if (proc.exitCode !== null) throw new Error(`the bot exited early:\n${out}`);
        if (Date.now() > deadline) throw new Error(`the bot did not start within 30 s:\n${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    signal: (signal) => (child !== undefined && child.exitCode === null && child.signalCode === null ? child.kill(signal) : false),
    exited() {
      if (!exit) return Promise.reject(new Error('the bot was never started'));
      return exit;
    },
    async stop(signal = 'SIGTERM') {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill(signal);
      await exited;
    },
  };
}

/** The JSON lines (pino) of a bot's output; other lines are skipped. */
export function logLines(output: string): Record<string, unknown>[] {
  return output.split('\n').flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}
