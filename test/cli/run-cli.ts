/**
 * Runs `src/cli.ts` as a real child process (node --import tsx) against an
 * in-process provider emulator, with a clean environment and a fresh DATA_DIR.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProviderEmulator } from '../emulator/provider-emulator.js';
import type { EmulatorOptions, ProviderEmulator } from '../emulator/provider-emulator.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunningCli {
  child: ChildProcess;
  /** Output so far. */
  stdout(): string;
  stderr(): string;
  done: Promise<CliResult>;
}

/** Starts `node --import tsx src/cli.ts …args` in the repository root with exactly `env`. */
export function spawnCli(args: readonly string[], env: Record<string, string>, timeoutMs = 25_000): RunningCli {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const done = new Promise<CliResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`seedance-bot ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, stdout: () => stdout, stderr: () => stderr, done };
}

export function runCli(args: readonly string[], env: Record<string, string>, timeoutMs?: number): Promise<CliResult> {
  return spawnCli(args, env, timeoutMs).done;
}

/** Non-empty stderr lines. */
export function lines(text: string): string[] {
  return text.split('\n').map((l) => l.trimEnd()).filter(Boolean);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `cond` every 20 ms until it holds; throws after `timeoutMs`. */
export async function waitUntil(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export interface CliWorld {
  emulator: ProviderEmulator;
  dataDir: string;
  /** A clean environment: PATH, HOME, the emulator URLs, DATA_DIR, fast polling, plus `extra`. */
  env(extra?: Record<string, string>): Record<string, string>;
  close(): Promise<void>;
}

/** One emulator and one DATA_DIR, so tests can run side by side without sharing counts. */
export async function createWorld(opts: EmulatorOptions = {}): Promise<CliWorld> {
  const emulator = await startProviderEmulator({ renderMs: () => 400, ...opts });
  const dataDir = await mkdtemp(join(tmpdir(), 'seedance-cli-'));
  return {
    emulator,
    dataDir,
    env(extra = {}) {
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? dataDir,
        AIMLAPI_BASE_URL: emulator.aimlapiUrl,
        SEGMIND_BASE_URL: emulator.segmindUrl,
        DATA_DIR: dataDir,
        POLL_MIN_INTERVAL_MS: '100',
        POLL_MAX_INTERVAL_MS: '1000',
      };
      // tsx keeps its transform cache under the temp dir.
      if (process.env.TMPDIR) env.TMPDIR = process.env.TMPDIR;
      return { ...env, ...extra };
    },
    async close() {
      await emulator.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
