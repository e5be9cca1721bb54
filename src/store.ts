/**
 * Opens the store named by STORE_URL: one SQLite database (a file in DATA_DIR by
 * default) that holds the job table and, through keyv, the platforms' settings and
 * bookkeeping; a Redis database (`redis://`, `rediss://`), for several processes; or,
 * for throwaway runs, `memory:`. Every failure is thrown: keyv is told to throw instead
 * of answering `undefined`/`false`. `health()` says, without a round trip, whether the
 * store answered lately: on Redis the connection's watchdog (its PINGs), on SQLite the
 * last statement of the job table (the lease renewal writes one every third of
 * LEASE_SECONDS).
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import Keyv from 'keyv';
import KeyvSqlite from '@keyv/sqlite';
import { ConfigError } from './core/errors.js';
import type { JobStore } from './core/job-store.js';
import type { Query } from './store/sqlite-job-store.js';
import { createSqliteJobStore } from './store/sqlite-job-store.js';
import { createMemoryJobStore } from './store/memory-job-store.js';
import { openSqlite } from './store/sqlite-connection.js';
import { openRedisStore } from './store/redis-store.js';

/** Whether the store can be reached now, as far as its last contact tells. */
export interface StoreHealth {
  up: boolean;
  /** Why not, when down: names the store and what failed (never credentials). */
  reason?: string;
}

export interface Store {
  kv: Keyv;
  jobs: JobStore;
  /** Cheap (no I/O): for /readyz and the `seedance_store_up` gauge. */
  health(): StoreHealth;
  close(): Promise<void>;
}

export interface StoreOptions {
  namespace?: string;
  /** How long a statement waits for another connection's lock before failing (SQLITE_BUSY). */
  busyTimeoutMs?: number;
  /** Redis: how long a command may wait for its answer before failing. */
  commandTimeoutMs?: number;
}

export async function openStore(storeUrl: string | undefined, dataDir: string, opts: StoreOptions = {}): Promise<Store> {
  const url = storeUrl ?? `sqlite://${join(dataDir, 'seedance.sqlite')}`;
  if (url === 'memory:') {
    const kv = new Keyv({ namespace: opts.namespace ?? 'seedance', throwOnErrors: true });
    return { kv, jobs: createMemoryJobStore(), health: () => ({ up: true }), close: async () => {} };
  }
  if (url.startsWith('redis://') || url.startsWith('rediss://')) return openRedisStore(url, opts);
  let uri: string;
  if (url.startsWith('sqlite://')) {
    const file = resolve(url.slice('sqlite://'.length));
    await mkdir(dirname(file), { recursive: true });
    uri = `sqlite://${file}`;
  } else {
    throw new ConfigError([`STORE_URL: only sqlite://<path>, redis://…, rediss://… (or memory: for throwaway runs) are supported, got "${url.split(':')[0]}:"`]);
  }
  const busyTimeoutMs = opts.busyTimeoutMs ?? 10_000;
  const adapter = new KeyvSqlite({ uri, busyTimeout: busyTimeoutMs });
  const keyvQuery = adapter.query as unknown as Query;
  // WAL lets the bot and a terminal run share the file without blocking each other's reads;
  // NORMAL sync is durable across process crashes (the WAL is fsynced at checkpoints).
  await keyvQuery('PRAGMA journal_mode=WAL');
  await keyvQuery('PRAGMA synchronous=NORMAL');
  const kv = new Keyv({ store: adapter, namespace: opts.namespace ?? 'seedance', throwOnErrors: true });
  kv.on('error', () => {
    // thrown to the caller as well (throwOnErrors); keep the emitter from crashing the process
  });
  const conn = await openSqlite(uri.slice('sqlite://'.length), { busyTimeoutMs });
  await conn.query('PRAGMA synchronous=NORMAL');
  const jobs = await createSqliteJobStore(conn);
  return {
    kv,
    jobs,
    health: () => conn.health(),
    async close() {
      await conn.close().catch(() => undefined);
      await adapter.disconnect();
    },
  };
}
