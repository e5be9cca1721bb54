/**
 * Persistence for jobs, their indices and learned render times, over any keyv
 * store (SQLite by default). Index keys are per surface so a terminal run and the
 * bot sharing one database never rewrite the same index.
 */
import type Keyv from 'keyv';
import type { JobRecord } from './job.js';
import type { RenderStats } from './eta.js';

export interface JobStore {
  get(id: string): Promise<JobRecord | undefined>;
  /** Stores a new job and adds it to the active indices. */
  create(job: JobRecord): Promise<void>;
  /** Rewrites the record; indices unchanged. */
  update(job: JobRecord): Promise<void>;
  /** Rewrites the record and drops it from the active indices (delivered, failed, …). */
  finish(job: JobRecord): Promise<void>;
  activeIds(surface: string): Promise<string[]>;
  activeInConversation(conversation: string): Promise<string[]>;
  activeForUser(surface: string, userId: string): Promise<string[]>;
  getStats(key: string): Promise<RenderStats | undefined>;
  putStats(key: string, stats: RenderStats): Promise<void>;
  /** Liveness of an instance: present and unexpired while it runs. */
  getLease(instance: string): Promise<number | undefined>;
  putLease(instance: string, expiresAt: number): Promise<void>;
}

/** Serialises read-modify-write of one key inside this process. */
function createKeyLocks() {
  const tails = new Map<string, Promise<unknown>>();
  return async function withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = tails.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    tails.set(key, tail);
    try {
      return await run;
    } finally {
      if (tails.get(key) === tail) tails.delete(key);
    }
  };
}

export function createJobStore(kv: Keyv): JobStore {
  const withLock = createKeyLocks();
  const indexKeys = (job: JobRecord) => [
    `idx:active:${job.surface}`,
    `idx:conv:${job.conversation}`,
    `idx:user:${job.surface}:${job.requester.id}`,
  ];
  const readIndex = async (key: string) => ((await kv.get<string[]>(key)) ?? []);
  const editIndex = (key: string, id: string, add: boolean) =>
    withLock(key, async () => {
      const ids = await readIndex(key);
      const has = ids.includes(id);
      if (add === has) return;
      const next = add ? [...ids, id] : ids.filter((x) => x !== id);
      if (next.length) await kv.set(key, next);
      else await kv.delete(key);
    });

  return {
    get: (id) => kv.get<JobRecord>(`job:${id}`),
    async create(job) {
      await kv.set(`job:${job.id}`, job);
      for (const key of indexKeys(job)) await editIndex(key, job.id, true);
    },
    async update(job) {
      await kv.set(`job:${job.id}`, job);
    },
    async finish(job) {
      await kv.set(`job:${job.id}`, job);
      for (const key of indexKeys(job)) await editIndex(key, job.id, false);
    },
    activeIds: (surface) => readIndex(`idx:active:${surface}`),
    activeInConversation: (conversation) => readIndex(`idx:conv:${conversation}`),
    activeForUser: (surface, userId) => readIndex(`idx:user:${surface}:${userId}`),
    getStats: (key) => kv.get<RenderStats>(`eta:${key}`),
    async putStats(key, stats) {
      await kv.set(`eta:${key}`, stats);
    },
    getLease: (instance) => kv.get<number>(`lease:${instance}`),
    async putLease(instance, expiresAt) {
      await kv.set(`lease:${instance}`, expiresAt);
    },
  };
}
