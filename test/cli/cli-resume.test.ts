/**
 * A terminal job outlives its process: after SIGKILL or Ctrl-C, `seedance-bot
 * resume` fetches the same provider job (never a second paid one) and delivers
 * the video exactly once.
 */
import { access, readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'vitest';
import { DEFAULT_AIMLAPI_KEY, DEFAULT_SEGMIND_KEY } from '../emulator/provider-emulator.js';
import type { ProviderEmulator, RequestFilter } from '../emulator/provider-emulator.js';
import { FIXTURES, createWorld, lines, runCli, spawnCli, waitUntil } from './run-cli.js';
import type { RunningCli } from './run-cli.js';

const VIDEO = readFile(join(FIXTURES, 'tiny.mp4'));
const RED_PNG = join(FIXTURES, 'red-320.png');
const exists = (path: string) => access(path).then(() => true, () => false);

/** Long enough that nothing finishes on its own while the first process lives; see finishRenders. */
const RENDER_MS = 60_000;

/** Lets every emulator job finish now, so the resumed process finds it done. */
function finishRenders(emulator: ProviderEmulator) {
  const now = Date.now();
  for (const job of emulator.jobs.values()) job.readyAt = Math.min(job.readyAt, now);
}

/** Waits until the emulator saw `filter` at least once while the CLI is still running. */
async function waitForRequest(cli: RunningCli, emulator: ProviderEmulator, what: string, filter: RequestFilter) {
  await waitUntil(what, () => {
    if (cli.child.exitCode !== null || cli.child.signalCode !== null) {
      throw new Error(`the CLI ended before ${what}\nstderr: ${cli.stderr()}`);
    }
    return emulator.count(filter) >= 1;
  });
}

const PROVIDERS: { name: string; keys: Record<string, string>; args: string[]; poll: RequestFilter }[] = [
  {
    name: 'AIML API',
    keys: { AIMLAPI_KEY: DEFAULT_AIMLAPI_KEY },
    args: [],
    // A status poll is made only after the job was stored as running, so a kill after it can't land mid-submit.
    poll: { service: 'aimlapi', method: 'GET', pathIncludes: 'generation_id=' },
  },
  {
    name: 'Segmind (async)',
    keys: { SEGMIND_API_KEY: DEFAULT_SEGMIND_KEY },
    args: ['--image', RED_PNG],
    poll: { service: 'segmind', method: 'GET', pathIncludes: '/status' },
  },
];

describe.concurrent('seedance-bot resume', () => {
  for (const p of PROVIDERS) {
    test(`after SIGKILL, resume delivers the same ${p.name} job exactly once`, { timeout: 30_000 }, async ({ expect, onTestFinished }) => {
      const w = await createWorld({ renderMs: () => RENDER_MS });
      onTestFinished(() => w.close());
      const env = w.env(p.keys);
      const out = join(w.dataDir, 'restart.mp4');

      const first = spawnCli(['generate', 'a fox in the snow', ...p.args, '--seed', '4242', '--out', out], env);
      await waitForRequest(first, w.emulator, 'the first status poll', p.poll);
      first.child.kill('SIGKILL');
      const killed = await first.done;
      expect(killed.signal).toBe('SIGKILL');
      expect(await exists(out)).toBe(false);
      expect(w.emulator.count({ method: 'POST' })).toBe(1);

      finishRenders(w.emulator);
      const resumed = await runCli(['resume'], env);

      expect(resumed.code).toBe(0);
      expect(await readFile(out)).toEqual(await VIDEO);
      const err = lines(resumed.stderr);
      expect(err[0]).toBe('Resuming 1 job…');
      const saved = err.filter((l) => l.startsWith('Saved '));
      expect(saved).toHaveLength(1);
      expect(saved[0]).toContain(`Saved ${out} `);
      expect(saved[0]).toContain('seed 4242');
      // Nothing was submitted again.
      expect(w.emulator.count({ method: 'POST' })).toBe(1);
      expect(w.emulator.jobs.size).toBe(1);

      const before = w.emulator.requests.length;
      const again = await runCli(['resume'], env);
      expect(again.code).toBe(0);
      expect(lines(again.stderr)).toEqual(['Nothing to resume.']);
      expect(w.emulator.requests.length).toBe(before);
    });
  }

  test('Ctrl-C while waiting: exit 130, tells the user to resume, and resume delivers', { timeout: 30_000 }, async ({ expect, onTestFinished }) => {
    const w = await createWorld({ renderMs: () => RENDER_MS });
    onTestFinished(() => w.close());
    // The create's answer takes a second, so Ctrl-C lands while it is in flight: stopping must wait for it.
    w.emulator.addFault({ service: 'aimlapi', method: 'POST', kind: 'delay', ms: 1000 });
    const env = w.env({ AIMLAPI_KEY: DEFAULT_AIMLAPI_KEY });
    const out = join(w.dataDir, 'interrupted.mp4');

    const first = spawnCli(['generate', 'a fox in the snow', '--out', out], env);
    await waitForRequest(first, w.emulator, 'the create', { method: 'POST' });
    first.child.kill('SIGINT');
    const stopped = await first.done;

    expect(stopped.code).toBe(130);
    expect(w.emulator.requests.find((q) => q.method === 'POST')!.status).toBe(200);
    expect(stopped.stderr).toContain('run "seedance-bot resume" to fetch the video');
    expect(stopped.stderr).toContain(w.dataDir);
    expect(await exists(out)).toBe(false);

    finishRenders(w.emulator);
    const resumed = await runCli(['resume'], env);

    expect(resumed.code).toBe(0);
    expect(await readFile(out)).toEqual(await VIDEO);
    expect(lines(resumed.stderr).filter((l) => l.startsWith('Saved '))).toHaveLength(1);
    expect(w.emulator.count({ method: 'POST' })).toBe(1);
  });

  test('killed in the middle of the submit: resume does not send it again', { timeout: 30_000 }, async ({ expect, onTestFinished }) => {
    const w = await createWorld({ renderMs: () => RENDER_MS });
    onTestFinished(() => w.close());
    // The create is received (and later acted on) but its answer never reaches the killed process.
    w.emulator.addFault({ service: 'aimlapi', method: 'POST', kind: 'delay', ms: 3000 });
    const env = w.env({ AIMLAPI_KEY: DEFAULT_AIMLAPI_KEY });
    const out = join(w.dataDir, 'lost.mp4');

    const first = spawnCli(['generate', 'a fox in the snow', '--out', out], env);
    await waitForRequest(first, w.emulator, 'the create', { method: 'POST' });
    first.child.kill('SIGKILL');
    await first.done;

    const resumed = await runCli(['resume'], env);

    expect(resumed.code).toBe(1);
    const err = lines(resumed.stderr);
    expect(err[0]).toBe('Resuming 1 job…');
    expect(err.at(-1)).toContain("we can't tell whether it started. It was not sent again, to avoid paying twice; it may have been charged.");
    expect(lines(resumed.stderr).filter((l) => l.startsWith('Saved '))).toHaveLength(0);
    expect(w.emulator.count({ method: 'POST' })).toBe(1);
    expect(await exists(out)).toBe(false);

    const again = await runCli(['resume'], env);
    expect(again.code).toBe(0);
    expect(lines(again.stderr)).toEqual(['Nothing to resume.']);
    expect(w.emulator.count({ method: 'POST' })).toBe(1);
  });

  test('Ctrl-C before anything was submitted (an --image URL that never answers): stops at once', async ({ expect, onTestFinished }) => {
    const w = await createWorld();
    onTestFinished(() => w.close());
    let asked = 0;
    const server = createServer(() => void asked++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    onTestFinished(() => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    });
    const env = w.env({ AIMLAPI_KEY: DEFAULT_AIMLAPI_KEY });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slow.png`;

    // The image fetch would wait 30 s for its timeout; the CLI must not make Ctrl-C wait for it.
    const first = spawnCli(['generate', 'a fox', '--image', url, '--out', join(w.dataDir, 'never.mp4')], env, 20_000);
    await waitUntil('the image request', () => asked > 0);
    first.child.kill('SIGINT');
    const stopped = await first.done;

    expect(stopped.code).toBe(130);
    expect(lines(stopped.stderr)).toEqual(['Stopped; nothing was submitted.']);
    const after = await runCli(['resume'], env);
    expect(lines(after.stderr)).toEqual(['Nothing to resume.']);
    expect(w.emulator.requests).toHaveLength(0);
  });

  test('resume with nothing left behind', async ({ expect, onTestFinished }) => {
    const w = await createWorld();
    onTestFinished(() => w.close());

    const r = await runCli(['resume'], w.env({ AIMLAPI_KEY: DEFAULT_AIMLAPI_KEY }));

    expect(r.code).toBe(0);
    expect(lines(r.stderr)).toEqual(['Nothing to resume.']);
    expect(w.emulator.requests).toHaveLength(0);
  });
});
