/** Opens the keyv store named by STORE_URL (SQLite by default, in DATA_DIR). */
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import Keyv from 'keyv';
import KeyvSqlite from '@keyv/sqlite';
import { ConfigError } from './core/errors.js';

export async function openKeyv(storeUrl: string | undefined, dataDir: string, namespace = 'seedance'): Promise<{ kv: Keyv; close(): Promise<void> }> {
  const url = storeUrl ?? `sqlite://${join(dataDir, 'seedance.sqlite')}`;
  if (url === 'memory:') {
    const kv = new Keyv({ namespace });
    return { kv, close: async () => {} };
  }
  if (!url.startsWith('sqlite://')) {
    throw new ConfigError([`STORE_URL: only sqlite://<path> (or memory: for throwaway runs) is supported, got "${url.split(':')[0]}:"`]);
  }
  const file = resolve(url.slice('sqlite://'.length));
  await mkdir(dirname(file), { recursive: true });
  const adapter = new KeyvSqlite({ uri: `sqlite://${file}`, busyTimeout: 10_000 });
  // WAL lets the bot and a terminal run share the file without blocking each other.
  await adapter.query('PRAGMA journal_mode=WAL');
  const kv = new Keyv({ store: adapter, namespace });
  kv.on('error', () => {
    // surfaced through rejected promises; keep the emitter from crashing the process
  });
  return { kv, close: () => adapter.disconnect() };
}
