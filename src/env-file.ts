/** Loads `.env` (if present) into the environment without overriding what is already set. */
import { existsSync } from 'node:fs';

export function loadDotEnv(path = '.env'): void {
  if (!existsSync(path)) return;
  const before = { ...process.env };
  process.loadEnvFile(path);
  // Real environment variables win over the file.
  for (const [k, v] of Object.entries(before)) process.env[k] = v;
}
