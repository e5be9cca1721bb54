// Standalone emulator: `npx tsx test/emulator/main.ts` (npm run emulator).
import { DEFAULT_AIMLAPI_KEY, DEFAULT_SEGMIND_KEY, startProviderEmulator } from './provider-emulator.js';
import { realisticRenderMs } from './render-times.js';

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    console.error(`${name} must be a non-negative number, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}

const scale = envNumber('EMULATOR_TIME_SCALE', 1);
const emulator = await startProviderEmulator({
  aimlapiPort: envNumber('EMULATOR_AIMLAPI_PORT', 4010),
  segmindPort: envNumber('EMULATOR_SEGMIND_PORT', 4011),
  renderMs: (job) => realisticRenderMs(job, scale),
});

console.log(`Seedance provider emulator (render time scale ${scale})`);
console.log(`  AIML API: ${emulator.aimlapiUrl}   key: ${DEFAULT_AIMLAPI_KEY}`);
console.log(`  Segmind:  ${emulator.segmindUrl}   key: ${DEFAULT_SEGMIND_KEY}`);
console.log(`  Control:  ${emulator.aimlapiUrl}/__emulator/{jobs,requests,faults,settings,credits,reset}`);
console.log('');
console.log('Environment for the bot:');
console.log(`AIMLAPI_BASE_URL=${emulator.aimlapiUrl}`);
console.log(`SEGMIND_BASE_URL=${emulator.segmindUrl}`);
console.log(`AIMLAPI_KEY=${DEFAULT_AIMLAPI_KEY}`);
console.log(`SEGMIND_API_KEY=${DEFAULT_SEGMIND_KEY}`);

let stopping = false;
function stop(signal: string): void {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping emulator`);
  emulator.close().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
