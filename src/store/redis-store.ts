/**
 * The store on Redis: the job store (redis-job-store.ts) and a keyv on
 * @keyv/redis for the platforms' settings and bookkeeping, over one
 * connection. This bot's keys are `NAME:…` (jobs) and `NAME::…` (keyv), NAME
 * being `?prefix=` in the URL or the namespace (`seedance`). Like the SQLite
 * store, keyv is told to throw instead of answering `undefined`/`false`. Its
 * health is the connection watchdog's (redis-connection.ts).
 */
import Keyv from 'keyv';
import KeyvRedis from '@keyv/redis';
import type { Store } from '../store.js';
import { connectRedis, parseRedisUrl } from './redis-connection.js';
import { createRedisJobStore } from './redis-job-store.js';

export interface RedisStoreOptions {
  namespace?: string;
  /** How long a command may wait for its answer before failing (default 5 s). */
  commandTimeoutMs?: number;
  /** How long opening may wait for the first connection (default 10 s). */
  connectTimeoutMs?: number;
}

export async function openRedisStore(storeUrl: string, opts: RedisStoreOptions = {}): Promise<Store> {
  const target = parseRedisUrl(storeUrl, opts.namespace ?? 'seedance');
  const { client, health, close } = await connectRedis(target, { commandTimeoutMs: opts.commandTimeoutMs ?? 5000, connectTimeoutMs: opts.connectTimeoutMs ?? 10_000 });
  // The adapter prefixes keys with the namespace itself (`NAME::key`); keyv's own prefix would repeat it.
  const adapter = new KeyvRedis(client, { throwOnErrors: true, throwOnConnectError: true });
  const kv = new Keyv({ store: adapter, namespace: target.name, useKeyPrefix: false, throwOnErrors: true });
  kv.on('error', () => {
    // thrown to the caller as well (throwOnErrors); keep the emitter from crashing the process
  });
  return { kv, jobs: createRedisJobStore(client, { prefix: `${target.name}:` }), health, close };
}
