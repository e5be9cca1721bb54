/**
 * The job store on SQLite, in the same database file (and connection) as keyv.
 * Jobs live in a table of their own so that every operation a job depends on is
 * one atomic statement: admission counts and inserts together, a write is a
 * compare-and-set on the version, and orphans are claimed with their owners'
 * leases checked in the same statement. Counts come from indexed columns, so no
 * operation's cost grows with the number of jobs in flight.
 */
import type { RenderStats } from '../core/eta.js';
import type { JobRecord } from '../core/job.js';
import { reachedLimit } from '../core/admission.js';
import { isFinal, userKeyOf, utcDay } from '../core/job.js';
import type { Admission, AdmissionLimit, AdmissionLimits, InstanceLease, JobStore, Usage, WriteResult } from '../core/job-store.js';

/** Runs one SQL statement and returns its rows. */
export type Query = (sql: string, ...params: unknown[]) => Promise<Record<string, unknown>[]>;

/** A connection that runs statements one at a time; `lazy` builds its parameters when its turn comes. */
export interface SqlRunner {
  query: Query;
  lazy(sql: string, params: () => unknown[]): Promise<Record<string, unknown>[]>;
}

/**
 * Compare-and-set writes of many jobs in one statement: every row lands only if its stored
 * version is the one it expects. Returns the ids that landed.
 */
const WRITE_BATCH = `UPDATE sd_jobs SET version = b.version, status = b.status, active = b.active, counted = b.counted, updated_at = b.updated_at, body = b.body
  FROM (SELECT value ->> 'id' AS id, value ->> 'expected' AS expected, value ->> 'version' AS version, value ->> 'status' AS status,
               value ->> 'active' AS active, value ->> 'counted' AS counted, value ->> 'updatedAt' AS updated_at, value ->> 'body' AS body
        FROM json_each(?)) AS b
  WHERE sd_jobs.id = b.id AND sd_jobs.version = b.expected
  RETURNING sd_jobs.id AS id, sd_jobs.owner AS owner`;

/** Writes per batch statement: enough to share the cost, small enough to keep its text small. */
const MAX_BATCH = 100;

const ADMIT_BATCH = `INSERT OR IGNORE INTO sd_jobs (id, version, status, active, counted, surface, user_key, place_key, day, owner, created_at, updated_at, body)
  SELECT b.id, 1, b.status, b.active, b.counted, b.surface, b.user, b.place, b.day, b.owner, b.created_at, b.updated_at, b.body
  FROM (SELECT value ->> 'id' AS id, value ->> 'status' AS status, value ->> 'active' AS active, value ->> 'counted' AS counted,
               value ->> 'surface' AS surface, value ->> 'user' AS user, value ->> 'place' AS place, value ->> 'day' AS day,
               value ->> 'owner' AS owner, value ->> 'createdAt' AS created_at, value ->> 'updatedAt' AS updated_at, value ->> 'body' AS body,
               value ->> 'perUserActive' AS per_user_active, value ->> 'queueCap' AS queue_cap, value ->> 'queuedBefore' AS queued_before,
               value ->> 'userDaily' AS user_daily, value ->> 'placeDaily' AS place_daily
        FROM json_each(?)) AS b
  WHERE (SELECT count(*) FROM sd_jobs WHERE active = 1 AND user_key = b.user) < b.per_user_active
    AND (b.queue_cap IS NULL OR (SELECT n FROM sd_counts WHERE name = 'queued') + b.queued_before < b.queue_cap)
    AND (b.user_daily IS NULL OR (SELECT count(*) FROM sd_jobs WHERE counted = 1 AND user_key = b.user AND day = b.day) < b.user_daily)
    AND (b.place_daily IS NULL OR b.place IS NULL OR (SELECT count(*) FROM sd_jobs WHERE counted = 1 AND user_key = b.user AND day = b.day AND place_key = b.place) < b.place_daily)
  RETURNING id`;

/**
 * Moves up to MAX_BATCH of `pending` into `batch`, at most one per key (in order); returns the
 * rest, for the next batch.
 */
function takeBatch<T>(pending: readonly T[], batch: T[], keyOf: (item: T) => string): T[] {
  const keys = new Set<string>();
  const later: T[] = [];
  for (const item of pending) {
    const key = keyOf(item);
    if (keys.has(key) || batch.length >= MAX_BATCH) later.push(item);
    else {
      keys.add(key);
      batch.push(item);
    }
  }
  return later;
}

interface PendingAdmit {
  job: JobRecord;
  limits: AdmissionLimits;
  resolve(a: Admission): void;
  reject(err: unknown): void;
}

interface PendingWrite {
  stored: JobRecord;
  expected: number;
  resolve(r: WriteResult): void;
  reject(err: unknown): void;
}

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS sd_jobs (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    active INTEGER NOT NULL,
    counted INTEGER NOT NULL,
    surface TEXT NOT NULL,
    user_key TEXT NOT NULL,
    place_key TEXT,
    day TEXT NOT NULL,
    owner TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    body TEXT NOT NULL
  )`,
  'CREATE INDEX IF NOT EXISTS sd_jobs_user_active ON sd_jobs(user_key, status) WHERE active = 1',
  'CREATE INDEX IF NOT EXISTS sd_jobs_user_day ON sd_jobs(user_key, day, place_key) WHERE counted = 1',
  "CREATE INDEX IF NOT EXISTS sd_jobs_queued ON sd_jobs(created_at) WHERE status = 'queued'",
  'CREATE INDEX IF NOT EXISTS sd_jobs_active ON sd_jobs(surface, owner) WHERE active = 1',
  'CREATE INDEX IF NOT EXISTS sd_jobs_user_recent ON sd_jobs(user_key, created_at)',
  // Finished jobs by age, for the retention purge (JOB_RETENTION_DAYS).
  'CREATE INDEX IF NOT EXISTS sd_jobs_finished ON sd_jobs(updated_at) WHERE active = 0',
  // The queue length, kept by triggers in the same statement as each change, so admission
  // reads one row instead of counting the queue.
  'CREATE TABLE IF NOT EXISTS sd_counts (name TEXT PRIMARY KEY, n INTEGER NOT NULL)',
  `CREATE TRIGGER IF NOT EXISTS sd_jobs_queued_ins AFTER INSERT ON sd_jobs WHEN NEW.status = 'queued'
   BEGIN UPDATE sd_counts SET n = n + 1 WHERE name = 'queued'; END`,
  `CREATE TRIGGER IF NOT EXISTS sd_jobs_queued_upd AFTER UPDATE OF status ON sd_jobs WHEN (OLD.status = 'queued') <> (NEW.status = 'queued')
   BEGIN UPDATE sd_counts SET n = n + (CASE WHEN NEW.status = 'queued' THEN 1 ELSE -1 END) WHERE name = 'queued'; END`,
  `CREATE TRIGGER IF NOT EXISTS sd_jobs_queued_del AFTER DELETE ON sd_jobs WHEN OLD.status = 'queued'
   BEGIN UPDATE sd_counts SET n = n - 1 WHERE name = 'queued'; END`,
  // After the triggers exist: a row inserted meanwhile is either counted here or by a trigger.
  "INSERT OR IGNORE INTO sd_counts (name, n) SELECT 'queued', count(*) FROM sd_jobs WHERE status = 'queued'",
  'CREATE TABLE IF NOT EXISTS sd_leases (instance TEXT PRIMARY KEY, expires_at INTEGER NOT NULL, host TEXT, pid INTEGER, started TEXT)',
  'CREATE TABLE IF NOT EXISTS sd_stats (key TEXT PRIMARY KEY, body TEXT NOT NULL)',
  // Platform events seen (de-duplication of retried and replayed deliveries).
  'CREATE TABLE IF NOT EXISTS sd_events (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)',
  'CREATE INDEX IF NOT EXISTS sd_events_expiry ON sd_events(expires_at)',
];

/** Ids per versions() statement. */
const VERSIONS_BATCH = 500;
/** Claims between sweeps of expired event keys. */
const EVENT_SWEEP_EVERY = 500;

function toRow(job: JobRecord) {
  const { version: _v, owner: _o, ...rest } = job;
  return {
    status: job.status,
    active: isFinal(job.status) ? 0 : 1,
    counted: job.released ? 0 : 1,
    body: JSON.stringify(rest),
  };
}

function fromRow(r: Record<string, unknown>): JobRecord {
  const job = JSON.parse(String(r.body)) as JobRecord;
  job.version = Number(r.version);
  if (typeof r.owner === 'string') job.owner = r.owner;
  else delete job.owner;
  return job;
}

const count = (rows: Record<string, unknown>[]) => Number(rows[0]?.n ?? 0);

export async function createSqliteJobStore(sql: SqlRunner): Promise<JobStore> {
  const { query } = sql;
  for (const statement of SCHEMA) await query(statement);
  await migrateFromKeyv(query);

  // Writes wait for the connection together and go as one statement when their turn comes:
  // under load a hundred writes cost about what one does.
  let pending: PendingWrite[] = [];
  let queued = false;
  async function flush(): Promise<void> {
    const batch: PendingWrite[] = [];
    let rows: Record<string, unknown>[];
    try {
      rows = await sql.lazy(WRITE_BATCH, () => {
        // One write per job in a batch: a second one for the same job goes in the next.
        const later = takeBatch(pending, batch, (w) => w.stored.id);
        pending = later;
        queued = later.length > 0;
        if (queued) void flush();
        const items = batch.map((w) => {
          const row = toRow(w.stored);
          return { id: w.stored.id, expected: w.expected, version: w.stored.version, status: row.status, active: row.active, counted: row.counted, updatedAt: w.stored.updatedAt, body: row.body };
        });
        return [JSON.stringify(items)];
      });
    } catch (err) {
      for (const w of batch) w.reject(err);
      return;
    }
    const landed = new Map(rows.map((r) => [String(r.id), r.owner]));
    const lost = batch.filter((w) => !landed.has(w.stored.id));
    let current = new Map<string, JobRecord>();
    if (lost.length) {
      try {
        const found = await query('SELECT version, owner, body FROM sd_jobs WHERE id IN (SELECT value FROM json_each(?))', JSON.stringify(lost.map((w) => w.stored.id)));
        current = new Map(found.map((r) => [JSON.parse(String(r.body)).id as string, fromRow(r)]));
      } catch (err) {
        for (const w of lost) w.reject(err);
        for (const w of batch) if (landed.has(w.stored.id)) settle(w, landed.get(w.stored.id));
        return;
      }
    }
    for (const w of batch) {
      if (landed.has(w.stored.id)) settle(w, landed.get(w.stored.id));
      else w.resolve({ ok: false, current: current.get(w.stored.id) });
    }
  }
  /** One admission on its own: every limit checked in the same statement as the insert. */
  async function admitOne(job: JobRecord, limits: AdmissionLimits): Promise<Admission> {
    const stored: JobRecord = { ...job, version: 1 };
    const row = toRow(stored);
    const user = userKeyOf(job);
    const day = utcDay(job.createdAt);
    const place = job.place ?? null;
    // SQLite runs the statement under the write lock, so concurrent admissions (in this
    // process or another one on the same file) cannot both pass a limit.
    const rows = await query(
      `INSERT INTO sd_jobs (id, version, status, active, counted, surface, user_key, place_key, day, owner, created_at, updated_at, body)
       SELECT ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
       WHERE (SELECT count(*) FROM sd_jobs WHERE active = 1 AND user_key = ?) < ?
         AND (? IS NULL OR (SELECT n FROM sd_counts WHERE name = 'queued') < ?)
         AND (? IS NULL OR (SELECT count(*) FROM sd_jobs WHERE counted = 1 AND user_key = ? AND day = ?) < ?)
         AND (? IS NULL OR ? IS NULL OR (SELECT count(*) FROM sd_jobs WHERE counted = 1 AND user_key = ? AND day = ? AND place_key = ?) < ?)
       RETURNING id`,
      job.id, row.status, row.active, row.counted, job.surface, user, place, day, job.owner ?? null, job.createdAt, job.updatedAt, row.body,
      user, limits.perUserActive,
      limits.queueLength ?? null, limits.queueLength ?? null,
      limits.perUserDaily ?? null, user, day, limits.perUserDaily ?? null,
      limits.placeDaily ?? null, place, user, day, place, limits.placeDaily ?? null,
    );
    if (rows.length) return { ok: true, job: stored };
    return { ok: false, limit: (await limitReached(job, limits)) ?? 'user_active' };
  }

  /** Which limit `job`'s requester has reached now, if any (for the refusal's words). */
  async function limitReached(job: JobRecord, limits: AdmissionLimits): Promise<AdmissionLimit | undefined> {
    return reachedLimit(limits, await usage({ surface: job.surface, requesterId: job.requester.id, ...(job.place ? { place: job.place } : {}), day: utcDay(job.createdAt) }));
  }

  // Admissions, like writes, go together when their turn comes: one statement for many
  // people. The insert's limit checks don't see rows of their own statement, so a batch holds
  // at most one admission per person, and counts the queue places taken ahead of each item.
  // An item refused in a batch whose requester turns out to be within every limit is tried on its own.
  let admits: PendingAdmit[] = [];
  let admitsQueued = false;
  async function flushAdmits(): Promise<void> {
    const batch: PendingAdmit[] = [];
    let rows: Record<string, unknown>[];
    try {
      rows = await sql.lazy(ADMIT_BATCH, () => {
        const later = takeBatch(admits, batch, (a) => userKeyOf(a.job));
        admits = later;
        admitsQueued = later.length > 0;
        if (admitsQueued) void flushAdmits();
        let queuedBefore = 0;
        const items = batch.map(({ job, limits }) => {
          const row = toRow({ ...job, version: 1 });
          const item = {
            id: job.id, status: row.status, active: row.active, counted: row.counted, surface: job.surface, user: userKeyOf(job), place: job.place ?? null,
            day: utcDay(job.createdAt), owner: job.owner ?? null, createdAt: job.createdAt, updatedAt: job.updatedAt, body: row.body,
            perUserActive: limits.perUserActive, queueCap: limits.queueLength ?? null, queuedBefore, userDaily: limits.perUserDaily ?? null, placeDaily: limits.placeDaily ?? null,
          };
          if (row.status === 'queued') queuedBefore++;
          return item;
        });
        return [JSON.stringify(items)];
      });
    } catch (err) {
      for (const a of batch) a.reject(err);
      return;
    }
    const admitted = new Set(rows.map((r) => String(r.id)));
    for (const a of batch) {
      if (admitted.has(a.job.id)) {
        a.resolve({ ok: true, job: { ...a.job, version: 1 } });
        continue;
      }
      limitReached(a.job, a.limits)
        .then((limit) => (limit ? { ok: false as const, limit } : admitOne(a.job, a.limits)))
        .then(a.resolve, a.reject);
    }
  }

  function settle(w: PendingWrite, owner: unknown) {
    if (typeof owner === 'string') w.stored.owner = owner;
    else delete w.stored.owner;
    w.resolve({ ok: true, job: w.stored });
  }

  async function usage(q: { surface: string; requesterId: string; place?: string; day: string }): Promise<Usage> {
    const user = `${q.surface}:${q.requesterId}`;
    const [active, queued, today, inPlace, queueLength] = await Promise.all([
      query('SELECT count(*) AS n FROM sd_jobs WHERE active = 1 AND user_key = ?', user),
      query("SELECT count(*) AS n FROM sd_jobs WHERE active = 1 AND user_key = ? AND status = 'queued'", user),
      query('SELECT count(*) AS n FROM sd_jobs WHERE counted = 1 AND user_key = ? AND day = ?', user, q.day),
      q.place ? query('SELECT count(*) AS n FROM sd_jobs WHERE counted = 1 AND user_key = ? AND day = ? AND place_key = ?', user, q.day, q.place) : Promise.resolve([]),
      query("SELECT n FROM sd_counts WHERE name = 'queued'"),
    ]);
    return { active: count(active), queued: count(queued), today: count(today), todayInPlace: count(inPlace), queueLength: count(queueLength) };
  }

  let eventClaims = 0;

  async function get(id: string): Promise<JobRecord | undefined> {
    const rows = await query('SELECT version, owner, body FROM sd_jobs WHERE id = ?', id);
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  return {
    admit(job: JobRecord, limits: AdmissionLimits): Promise<Admission> {
      return new Promise((resolve, reject) => {
        admits.push({ job, limits, resolve, reject });
        if (!admitsQueued) {
          admitsQueued = true;
          void flushAdmits();
        }
      });
    },

    usage,

    get,

    async versions(ids) {
      const out = new Map<string, number>();
      for (let i = 0; i < ids.length; i += VERSIONS_BATCH) {
        const rows = await query('SELECT id, version FROM sd_jobs WHERE id IN (SELECT value FROM json_each(?))', JSON.stringify(ids.slice(i, i + VERSIONS_BATCH)));
        for (const r of rows) out.set(String(r.id), Number(r.version));
      }
      return out;
    },

    write(next, expectedVersion): Promise<WriteResult> {
      return new Promise((resolve, reject) => {
        // `next` is the caller's to give (the job machine makes a fresh record per write).
        next.version = expectedVersion + 1;
        pending.push({ stored: next, expected: expectedVersion, resolve, reject });
        if (!queued) {
          queued = true;
          void flush();
        }
      });
    },

    async claimOrphans(q) {
      const rows = await query(
        `UPDATE sd_jobs SET owner = ?1, version = version + 1, updated_at = ?2
         WHERE id IN (
           SELECT j.id FROM sd_jobs j
           WHERE j.active = 1 AND j.surface IN (SELECT value FROM json_each(?3))
             AND (j.owner IS NULL OR (j.owner <> ?1 AND (
               j.owner IN (SELECT value FROM json_each(?4))
               OR NOT EXISTS (SELECT 1 FROM sd_leases l WHERE l.instance = j.owner AND l.expires_at > ?2))))
           ORDER BY j.created_at LIMIT ?5)
         RETURNING version, owner, body`,
        q.self, q.now, JSON.stringify(q.surfaces), JSON.stringify(q.deadOwners), q.limit,
      );
      return rows.map(fromRow).sort((a, b) => a.createdAt - b.createdAt);
    },

    async recent(q) {
      const rows = await query('SELECT version, owner, body FROM sd_jobs WHERE user_key = ? ORDER BY created_at DESC LIMIT ?', `${q.surface}:${q.requesterId}`, q.limit);
      return rows.map(fromRow);
    },

    async activeIds(surface) {
      const rows = await query('SELECT id FROM sd_jobs WHERE active = 1 AND surface = ? ORDER BY created_at', surface);
      return rows.map((r) => String(r.id));
    },

    async purgeFinished(q) {
      // Only the job's own row: no other table holds rows of a finished job (the queue count's
      // trigger fires for queued rows only; leases, stats and event keys aren't per job).
      const rows = await query(
        `DELETE FROM sd_jobs WHERE id IN (SELECT id FROM sd_jobs WHERE active = 0 AND updated_at < ? ORDER BY updated_at LIMIT ?) AND active = 0
         RETURNING id`,
        q.before, Math.max(0, q.limit),
      );
      return rows.length;
    },

    async claimEvent(key, now, expiresAt) {
      // A fresh row, or an expired one taken over, comes back; a live copy does not.
      const rows = await query(
        `INSERT INTO sd_events (key, expires_at) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET expires_at = excluded.expires_at WHERE sd_events.expires_at <= ?3
         RETURNING key`,
        key, expiresAt, now,
      );
      if (++eventClaims % EVENT_SWEEP_EVERY === 0) await query('DELETE FROM sd_events WHERE expires_at <= ?', now).catch(() => undefined);
      return rows.length === 1;
    },

    async putLease(l: InstanceLease) {
      await query(
        `INSERT INTO sd_leases (instance, expires_at, host, pid, started) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(instance) DO UPDATE SET expires_at = excluded.expires_at`,
        l.instance, l.expiresAt, l.host ?? null, l.pid ?? null, l.started ?? null,
      );
    },

    async leasesOnHost(host, now) {
      const rows = await query('SELECT instance, expires_at, host, pid, started FROM sd_leases WHERE host = ? AND expires_at > ?', host, now);
      return rows.map((r) => ({
        instance: String(r.instance),
        expiresAt: Number(r.expires_at),
        host: String(r.host),
        ...(r.pid !== null ? { pid: Number(r.pid) } : {}),
        ...(typeof r.started === 'string' ? { started: r.started } : {}),
      }));
    },

    async getStats(key) {
      const rows = await query('SELECT body FROM sd_stats WHERE key = ?', key);
      return rows[0] ? (JSON.parse(String(rows[0].body)) as RenderStats) : undefined;
    },

    async putStats(key, stats) {
      await query('INSERT INTO sd_stats (key, body) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET body = excluded.body', key, JSON.stringify(stats));
    },
  };
}

/**
 * Earlier versions kept jobs as keyv values (`seedance:job:<id>`) with index arrays beside
 * them. Moves them into `sd_jobs` once (unfinished ones are then resumed as orphans) and
 * drops the old keys. Idempotent: a crash halfway leaves nothing that a second run can't finish.
 */
async function migrateFromKeyv(query: Query): Promise<void> {
  const tables = await query("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'keyv'");
  if (!tables.length) return;
  const rows = await query("SELECT key, value FROM keyv WHERE key LIKE 'seedance:job:%' OR key LIKE 'seedance:eta:%'");
  for (const r of rows) {
    const key = String(r.key);
    let value: unknown;
    try {
      value = (JSON.parse(String(r.value)) as { value?: unknown }).value;
    } catch {
      continue;
    }
    if (key.startsWith('seedance:eta:')) {
      await query('INSERT OR IGNORE INTO sd_stats (key, body) VALUES (?, ?)', key.slice('seedance:eta:'.length), JSON.stringify(value));
      continue;
    }
    const job = value as Partial<JobRecord> & { status: JobRecord['status'] };
    if (!job || typeof job.id !== 'string' || !job.requester || !job.surface) continue;
    const full = { ...job, version: 1, attempts: job.attempts ?? { submit: 0, delivery: 0 }, meta: job.meta ?? {} } as JobRecord;
    const row = toRow(full);
    await query(
      `INSERT OR IGNORE INTO sd_jobs (id, version, status, active, counted, surface, user_key, place_key, day, owner, created_at, updated_at, body)
       VALUES (?, 1, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?)`,
      full.id, row.status, row.active, row.counted, full.surface, userKeyOf(full), utcDay(full.createdAt ?? 0), full.owner ?? null, full.createdAt ?? 0, full.updatedAt ?? 0, row.body,
    );
  }
  await query("DELETE FROM keyv WHERE key LIKE 'seedance:job:%' OR key LIKE 'seedance:idx:%' OR key LIKE 'seedance:lease:%' OR key LIKE 'seedance:eta:%'");
}
