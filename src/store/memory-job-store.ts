/**
 * The job store in process memory (`STORE_URL=memory:`, and the core's unit
 * tests): the same contract as the SQLite store, checked by the same contract
 * suite. Each operation runs to completion without awaiting anything, which in
 * one process is what makes it atomic. Records are copied in and out, so no
 * caller can change a stored record by accident.
 */
import type { RenderStats } from '../core/eta.js';
import type { JobRecord } from '../core/job.js';
import { reachedLimit } from '../core/admission.js';
import { isFinal, userKeyOf, utcDay } from '../core/job.js';
import type { InstanceLease, JobStore, Usage } from '../core/job-store.js';

const copy = <T>(v: T): T => structuredClone(v);

export function createMemoryJobStore(): JobStore {
  const jobs = new Map<string, JobRecord>();
  const leases = new Map<string, InstanceLease>();
  const stats = new Map<string, RenderStats>();
  const events = new Map<string, number>();

  function usage(q: { surface: string; requesterId: string; place?: string; day: string }): Usage {
    const user = `${q.surface}:${q.requesterId}`;
    const u: Usage = { active: 0, queued: 0, today: 0, todayInPlace: 0, queueLength: 0 };
    for (const j of jobs.values()) {
      if (j.status === 'queued') u.queueLength++;
      if (userKeyOf(j) !== user) continue;
      if (!isFinal(j.status)) u.active++;
      if (j.status === 'queued') u.queued++;
      if (!j.released && utcDay(j.createdAt) === q.day) {
        u.today++;
        if (q.place && j.place === q.place) u.todayInPlace++;
      }
    }
    return u;
  }

  return {
    async admit(job, limits) {
      if (jobs.has(job.id)) throw new Error(`a job with id ${job.id} exists`);
      const u = usage({ surface: job.surface, requesterId: job.requester.id, ...(job.place ? { place: job.place } : {}), day: utcDay(job.createdAt) });
      const limit = reachedLimit(limits, u);
      if (limit) return { ok: false, limit };
      const stored = { ...copy(job), version: 1 };
      jobs.set(job.id, stored);
      return { ok: true, job: copy(stored) };
    },
    async usage(q) {
      return usage(q);
    },
    async get(id) {
      const j = jobs.get(id);
      return j && copy(j);
    },
    async versions(ids) {
      const out = new Map<string, number>();
      for (const id of ids) {
        const j = jobs.get(id);
        if (j) out.set(id, j.version);
      }
      return out;
    },
    async write(next, expectedVersion) {
      const current = jobs.get(next.id);
      if (!current || current.version !== expectedVersion) return { ok: false, current: current && copy(current) };
      const stored = { ...copy(next), version: expectedVersion + 1 };
      if (current.owner !== undefined) stored.owner = current.owner;
      else delete stored.owner;
      jobs.set(next.id, stored);
      return { ok: true, job: copy(stored) };
    },
    async claimOrphans(q) {
      const fresh = (owner: string) => (leases.get(owner)?.expiresAt ?? 0) > q.now;
      const out: JobRecord[] = [];
      const candidates = [...jobs.values()].filter((j) => !isFinal(j.status) && q.surfaces.includes(j.surface)).sort((a, b) => a.createdAt - b.createdAt);
      for (const j of candidates) {
        if (out.length >= q.limit) break;
        const orphan = j.owner === undefined || (j.owner !== q.self && (q.deadOwners.includes(j.owner) || !fresh(j.owner)));
        if (!orphan) continue;
        j.owner = q.self;
        j.version++;
        out.push(copy(j));
      }
      return out;
    },
    async recent(q) {
      const user = `${q.surface}:${q.requesterId}`;
      return [...jobs.values()].filter((j) => userKeyOf(j) === user).sort((a, b) => b.createdAt - a.createdAt).slice(0, q.limit).map(copy);
    },
    async activeIds(surface) {
      return [...jobs.values()].filter((j) => j.surface === surface && !isFinal(j.status)).sort((a, b) => a.createdAt - b.createdAt).map((j) => j.id);
    },
    async purgeFinished(q) {
      const old = [...jobs.values()].filter((j) => isFinal(j.status) && j.updatedAt < q.before).sort((a, b) => a.updatedAt - b.updatedAt).slice(0, Math.max(0, q.limit));
      for (const j of old) jobs.delete(j.id);
      return old.length;
    },
    async putLease(l) {
      const prev = leases.get(l.instance);
      leases.set(l.instance, prev ? { ...prev, expiresAt: l.expiresAt } : { ...l });
    },
    async leasesOnHost(host, now) {
      return [...leases.values()].filter((l) => l.host === host && l.expiresAt > now).map(copy);
    },
    async claimEvent(key, now, expiresAt) {
      const until = events.get(key);
      if (until !== undefined && until > now) return false;
      events.set(key, expiresAt);
      if (events.size > 10_000) for (const [k, t] of events) if (t <= now) events.delete(k);
      return true;
    },
    async getStats(key) {
      const s = stats.get(key);
      return s && copy(s);
    },
    async putStats(key, s) {
      stats.set(key, copy(s));
    },
  };
}
