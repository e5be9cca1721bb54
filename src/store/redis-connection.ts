/**
 * One node-redis connection for the Redis store (jobs and keyv share it).
 * `redis://[user:password@]host:port/db` or `rediss://…` (TLS); credentials and
 * the database number come from the URL, `?prefix=NAME` names this bot's keys
 * so several bots can share a database.
 *
 * No command waits for an answer longer than the command timeout. node-redis's
 * own timeout covers a command only until it is sent (so commands issued while
 * the connection is being re-established wait in its offline queue at most that
 * long); once sent, it would wait for as long as the server takes, and a server
 * that hangs with the connection open (stopped, overloaded, or a network that
 * drops packets without a reset) never answers. So a watchdog PINGs the server
 * every half timeout: a PING unanswered for half a timeout drops the connection,
 * which fails every command waiting on it, and connects again. The connection is
 * re-established forever, with backoff.
 *
 * The watchdog's PINGs are also the store's health: down from a PING unanswered
 * (or refused) and while the connection is being re-established, up again once a
 * PING is answered; a fresh connection is PINGed at once.
 */
import { createHash } from 'node:crypto';
import type { RedisClientType } from '@redis/client';
import { createClient } from '@redis/client';
import { within } from '../platform-connection.js';
import { ConfigError } from '../core/errors.js';
import type { StoreHealth } from '../store.js';

export type RedisClient = RedisClientType;

export interface RedisTarget {
  /** What node-redis is given: the URL without our own parameters. */
  url: string;
  /** This bot's name in the database (`seedance` unless `?prefix=` says otherwise). */
  name: string;
  /** `host:port/db`, for messages: never the credentials. */
  where: string;
}

/** Throws a ConfigError (naming no credentials) for a URL node-redis can't use. */
export function parseRedisUrl(storeUrl: string, defaultName: string): RedisTarget {
  let u: URL;
  try {
    u = new URL(storeUrl);
  } catch {
    throw new ConfigError(['STORE_URL: not a valid redis:// or rediss:// URL']);
  }
  const name = u.searchParams.get('prefix') || defaultName;
  u.searchParams.delete('prefix');
  const db = u.pathname.length > 1 ? u.pathname.slice(1) : '0';
  if (!u.hostname || !/^\d+$/.test(db)) throw new ConfigError(['STORE_URL: a Redis URL needs a host and, after it, at most a database number (redis://host:6379/0)']);
  return { url: u.toString(), name, where: `${u.hostname}:${u.port || '6379'}/${db}` };
}

export interface RedisConnectOptions {
  /** How long a command may wait for its answer (queued while reconnecting included). */
  commandTimeoutMs: number;
  /** How long the first connection may take before opening the store fails. */
  connectTimeoutMs: number;
}

/** Certificate checks Node's TLS makes, and Redis refusing the credentials. */
const TLS_REFUSALS = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID']);
function hopeless(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  return (typeof code === 'string' && TLS_REFUSALS.has(code)) || /^(WRONGPASS|NOAUTH|ERR invalid password|ERR AUTH)/.test(err.message);
}

const backoff = (retries: number) => Math.min(50 * 2 ** Math.min(retries, 10), 3000) + Math.floor(Math.random() * 100);

export interface RedisConnection {
  client: RedisClient;
  /** What the watchdog last saw; no I/O. */
  health(): StoreHealth;
  close(): Promise<void>;
}

export async function connectRedis(target: RedisTarget, opts: RedisConnectOptions): Promise<RedisConnection> {
  const client = createClient({
    url: target.url,
    socket: { connectTimeout: opts.connectTimeoutMs, reconnectStrategy: backoff },
    commandOptions: { timeout: opts.commandTimeoutMs },
  }) as RedisClient;
  let lastError: unknown;
  let giveUp: ((err: Error) => void) | undefined;
  // Failures reach the callers of each command; without a listener an 'error' event kills the process.
  client.on('error', (err: unknown) => {
    lastError = err;
    // At start, a refused password or certificate won't get better by trying again.
    if (giveUp && hopeless(err)) giveUp(new Error(`could not connect to Redis at ${target.where}: ${(err as Error).message}`));
  });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    giveUp = reject;
    timer = setTimeout(() => {
      const why = lastError instanceof Error ? `: ${lastError.message}` : '';
      reject(new Error(`could not connect to Redis at ${target.where} within ${opts.connectTimeoutMs} ms${why}`));
    }, opts.connectTimeoutMs);
  });
  try {
    await Promise.race([client.connect(), deadline]);
  } catch (err) {
    client.destroy();
    throw err;
  } finally {
    giveUp = undefined;
    clearTimeout(timer);
  }
  // The last error explains an outage under way (health), not one that is over.
  client.on('ready', () => (lastError = undefined));
  const watchdog = watch(client, target, opts, () => lastError);
  return {
    client,
    health: watchdog.health,
    async close() {
      clearInterval(watchdog.timer);
      await closeRedis(client);
    },
  };
}

/** Drops and re-opens the connection when the server stops answering (see the top of the file). */
function watch(client: RedisClient, target: RedisTarget, opts: RedisConnectOptions, lastError: () => unknown): { timer: NodeJS.Timeout; health: () => StoreHealth } {
  const probeMs = Math.max(25, Math.floor(opts.commandTimeoutMs / 2));
  let probing = false;
  let notReadySince: number | undefined;
  // Why the server isn't to be counted on, until a PING is answered (connectRedis got its answer to the handshake).
  let down: string | undefined;
  const reset = () => {
    notReadySince = undefined;
    client.destroy();
    client.connect().catch(() => undefined);
  };
  async function probe() {
    if (!client.isOpen) return;
    if (!client.isReady) {
      // Reconnecting: node-redis retries by itself, but the handshake with a server that took the
      // connection and never answers would wait forever.
      notReadySince ??= Date.now();
      if (Date.now() - notReadySince >= opts.connectTimeoutMs) reset();
      return;
    }
    notReadySince = undefined;
    // An error is an answer too (a closed connection is node-redis's to re-open), but not a healthy one.
    const answer = await within(
      client.ping().then(() => undefined, (err: unknown) => `refused a PING (${(err as Error)?.message ?? String(err)})`),
      probeMs,
      'Redis ping',
    ).catch(() => false as const);
    if (answer === false) {
      down = `did not answer a PING within ${probeMs} ms`;
      if (client.isOpen) reset();
    } else {
      down = answer;
    }
  }
  const tick = () => {
    if (probing) return;
    probing = true;
    void probe().finally(() => (probing = false));
  };
  const timer = setInterval(tick, probeMs);
  timer.unref();
  // A dropped connection is down until the new one answers a PING, which is sent as soon as it is ready.
  client.on('reconnecting', () => (down ??= 'lost the connection'));
  client.on('ready', tick);
  return {
    timer,
    health() {
      const where = `Redis at ${target.where}`;
      if (!client.isReady) {
        const err = lastError();
        return { up: false, reason: `${where} ${down ?? 'lost the connection'}; reconnecting${err instanceof Error ? ` (${err.message})` : ''}` };
      }
      return down ? { up: false, reason: `${where} ${down}` } : { up: true };
    },
  };
}

/** Closes the connection, waiting up to `ms` for commands under way, then at once. */
async function closeRedis(client: RedisClient, ms = 2000): Promise<void> {
  if (!client.isOpen) return;
  const done = await within(client.close().then(() => 'closed' as const, () => 'failed' as const), ms, 'Redis close').catch(() => 'late' as const);
  if (done !== 'closed' && client.isOpen) client.destroy();
}

export type Script = (client: RedisClient, keys: string[], args: string[]) => Promise<unknown>;

/** A Lua script run by its SHA1 (EVALSHA), sent whole (EVAL) the first time a server lacks it. */
export function luaScript(source: string): Script {
  const sha = createHash('sha1').update(source).digest('hex');
  return async (client, keys, args) => {
    try {
      return await client.evalSha(sha, { keys, arguments: args });
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return client.eval(source, { keys, arguments: args });
    }
  };
}
