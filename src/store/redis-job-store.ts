/**
 * The job store on Redis (`STORE_URL=redis://…`), for several bot processes on
 * one database. Each operation that must be atomic is one Lua script
 * (redis-scripts.ts, where the key layout is described): admission counts and
 * inserts together, a write is a compare-and-set on the version that moves the
 * job between its indexes, orphans are claimed with their owners' leases read
 * in the same script, and a platform event is claimed by one script. Counts
 * come from sets and counters kept by those scripts, so no operation's cost
 * grows with the number of jobs in flight. Every failure (no connection, a
 * command timed out, an error reply) is thrown.
 *
 * Where it differs from the SQLite store: a day's admission counters expire
 * two days after that day ends, so `usage` of an older day counts nothing;
 * `recent` keeps each person's newest RECENT_CAP jobs.
 */
import type { RenderStats } from '../core/eta.js';
import type { JobRecord } from '../core/job.js';
import { isFinal, userKeyOf, utcDay } from '../core/job.js';
import type { Admission, AdmissionLimit, InstanceLease, JobStore, Usage, WriteResult } from '../core/job-store.js';
import type { RedisClient } from './redis-connection.js';
import { luaScript } from './redis-connection.js';
import { ADMIT, CLAIM, CLAIM_EVENT, LEASES_ON_HOST, PURGE, PUT_LEASE, RECENT, USAGE, VERSIONS, WRITE } from './redis-scripts.js';

/** Jobs per person that `recent` can list. */
export const RECENT_CAP = 100;
const DAY_MS = 86_400_000;
const LIMITS: readonly AdmissionLimit[] = ['user_active', 'queue_length', 'user_daily', 'place_daily'];
/** How long a day's counters outlive the day. */
const COUNTERS_KEPT_MS = 2 * DAY_MS;
/** How long a lease's key outlives its expiry (its lapse is read from `expiresAt`, not from the key). */
const LEASE_KEPT_MS = 3_600_000;

const admitScript = luaScript(ADMIT);
const writeScript = luaScript(WRITE);
const claimScript = luaScript(CLAIM);
const purgeScript = luaScript(PURGE);
const recentScript = luaScript(RECENT);
const usageScript = luaScript(USAGE);
const putLeaseScript = luaScript(PUT_LEASE);
const leasesScript = luaScript(LEASES_ON_HOST);
const claimEventScript = luaScript(CLAIM_EVENT);
const versionsScript = luaScript(VERSIONS);
/** Ids per versions() call. */
const VERSIONS_BATCH = 500;

export interface RedisJobStoreOptions {
  /** Put before every key, e.g. `seedance:`. */
  prefix: string;
  /** Real time, for key expiry only (every decision uses the times the caller passes). */
  now?: () => number;
}

/** An optional value as a script argument: '' for none, '+value' otherwise. */
const opt = (v: string | number | undefined | null) => (v === undefined || v === null ? '' : `+${v}`);

function bodyOf(job: JobRecord): string {
  const { version: _v, owner: _o, ...rest } = job;
  return JSON.stringify(rest);
}

function fromReply(body: unknown, version: unknown, owner: unknown): JobRecord {
  const job = JSON.parse(String(body)) as JobRecord;
  job.version = Number(version);
  if (typeof owner === 'string') job.owner = owner;
  else delete job.owner;
  return job;
}

const asArray = (reply: unknown): unknown[] => {
  if (!Array.isArray(reply)) throw new Error(`unexpected reply from Redis: ${typeof reply}`);
  return reply;
};

/** What went wrong, for the message of the error each operation throws. */
function reason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'TimeoutError') return 'no answer within the command timeout';
  return err.message || err.name;
}

/** The same store whose every failure says which operation failed, keeping the cause. */
function namingFailures(store: JobStore): JobStore {
  const named: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(store) as [string, (...args: unknown[]) => Promise<unknown>][]) {
    named[name] = (...args: unknown[]) =>
      fn(...args).catch((err: unknown) => {
        throw new Error(`Redis job store: ${name} failed: ${reason(err)}`, { cause: err });
      });
  }
  return named as unknown as JobStore;
}

export function createRedisJobStore(client: RedisClient, opts: RedisJobStoreOptions): JobStore {
  const P = opts.prefix;
  const now = opts.now ?? Date.now;
  /** Counters of `day` live until two days after it ends (or after now, for a day long past). */
  const countersTtl = (day: string) => String(Math.max(Date.parse(`${day}T00:00:00Z`) + DAY_MS - now(), 0) + COUNTERS_KEPT_MS);

  return namingFailures({
    async admit(job, limits): Promise<Admission> {
      const stored: JobRecord = { ...job, version: 1 };
      const day = utcDay(job.createdAt);
      const reply = await admitScript(client, [], [
        P, job.id, bodyOf(stored), job.status, isFinal(job.status) ? '0' : '1', job.released ? '0' : '1', job.surface, userKeyOf(job),
        opt(job.place), day, opt(job.owner), String(job.createdAt), String(job.updatedAt),
        String(limits.perUserActive), String(limits.queueLength ?? ''), String(limits.perUserDaily ?? ''), String(limits.placeDaily ?? ''),
        countersTtl(day), String(RECENT_CAP),
      ]);
      if (reply === 'ok') return { ok: true, job: stored };
      if (typeof reply !== 'string' || !LIMITS.includes(reply as AdmissionLimit)) throw new Error(`unexpected reply from Redis: ${String(reply)}`);
      return { ok: false, limit: reply as AdmissionLimit };
    },

    async usage(q): Promise<Usage> {
      const reply = asArray(await usageScript(client, [], [P, `${q.surface}:${q.requesterId}`, q.day, opt(q.place)])).map(Number);
      return { active: reply[0]!, queued: reply[1]!, today: reply[2]!, todayInPlace: reply[3]!, queueLength: reply[4]! };
    },

    async get(id) {
      const [body, version, owner] = await client.hmGet(`${P}job:${id}`, ['body', 'version', 'owner']);
      return body === null || body === undefined ? undefined : fromReply(body, version, owner);
    },

    async versions(ids) {
      const out = new Map<string, number>();
      for (let i = 0; i < ids.length; i += VERSIONS_BATCH) {
        const batch = ids.slice(i, i + VERSIONS_BATCH);
        const reply = asArray(await versionsScript(client, [], [P, ...batch]));
        batch.forEach((id, n) => {
          if (reply[n]) out.set(id, Number(reply[n]));
        });
      }
      return out;
    },

    async write(next, expectedVersion): Promise<WriteResult> {
      // `next` is the caller's to give (the job machine makes a fresh record per write).
      next.version = expectedVersion + 1;
      const reply = asArray(
        await writeScript(client, [], [
          P, next.id, String(expectedVersion), String(next.version), bodyOf(next), next.status, isFinal(next.status) ? '0' : '1', next.released ? '0' : '1',
          String(next.updatedAt), countersTtl(utcDay(next.createdAt)),
        ]),
      );
      if (Number(reply[0]) === 1) {
        if (typeof reply[1] === 'string') next.owner = reply[1];
        else delete next.owner;
        return { ok: true, job: next };
      }
      return { ok: false, current: reply.length > 1 ? fromReply(reply[1], reply[2], reply[3]) : undefined };
    },

    async claimOrphans(q) {
      if (!q.surfaces.length || q.limit <= 0) return [];
      const reply = asArray(await claimScript(client, [], [P, q.self, String(q.now), String(q.limit), String(q.surfaces.length), ...q.surfaces, ...q.deadOwners]));
      const out: JobRecord[] = [];
      for (let i = 0; i < reply.length; i += 2) out.push(fromReply(reply[i], reply[i + 1], q.self));
      return out;
    },

    async recent(q) {
      if (q.limit <= 0) return [];
      const reply = asArray(await recentScript(client, [], [P, `${q.surface}:${q.requesterId}`, String(q.limit)]));
      const out: JobRecord[] = [];
      for (let i = 0; i < reply.length; i += 3) out.push(fromReply(reply[i], reply[i + 1], reply[i + 2]));
      return out;
    },

    async activeIds(surface) {
      return client.zRange(`${P}active:${surface}`, 0, -1);
    },

    async purgeFinished(q) {
      const limit = Math.max(0, Math.floor(q.limit));
      if (!limit) return 0;
      return Number(await purgeScript(client, [], [P, String(q.before), String(limit)]));
    },

    async putLease(l: InstanceLease) {
      const ttl = Math.max(l.expiresAt - now(), 0) + LEASE_KEPT_MS;
      await putLeaseScript(client, [], [P, l.instance, String(l.expiresAt), opt(l.host), opt(l.pid), opt(l.started), String(ttl)]);
    },

    async leasesOnHost(host, at) {
      const reply = asArray(await leasesScript(client, [], [P, host, String(at)]));
      const out: InstanceLease[] = [];
      for (let i = 0; i < reply.length; i += 4) {
        const [pid, started] = [String(reply[i + 2]), String(reply[i + 3])];
        out.push({ instance: String(reply[i]), expiresAt: Number(reply[i + 1]), host, ...(pid ? { pid: Number(pid) } : {}), ...(started ? { started } : {}) });
      }
      return out;
    },

    async claimEvent(key, at, expiresAt) {
      return Number(await claimEventScript(client, [`${P}event:${key}`], [String(at), String(expiresAt), String(expiresAt - at)])) === 1;
    },

    async getStats(key) {
      const body = await client.get(`${P}stats:${key}`);
      return body === null ? undefined : (JSON.parse(body) as RenderStats);
    },

    async putStats(key, stats) {
      await client.set(`${P}stats:${key}`, JSON.stringify(stats));
    },
  });
}
