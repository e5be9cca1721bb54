/**
 * The provider emulator as a child process for the benchmark, so the bench
 * process's memory and event-loop figures are the core's alone. Each job's
 * render time is carried in its prompt (`render=<ms>`), so our run and the
 * reference run face exactly the same jobs.
 */
import { startProviderEmulator } from '../emulator/provider-emulator.js';

const emulator = await startProviderEmulator({
  renderMs: ({ body }) => Number(/render=(\d+)/.exec(String(body.prompt))?.[1] ?? 1000),
});
process.stdout.write(`${JSON.stringify({ aimlapiUrl: emulator.aimlapiUrl, segmindUrl: emulator.segmindUrl })}\n`);
const stop = () => void emulator.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
