/**
 * Upgrading a database written by an earlier version, which kept jobs as keyv
 * values (`seedance:job:<id>`) with index arrays and leases beside them: opening
 * it moves the jobs and render stats into the job table once, drops the old
 * keys, leaves other keyv data alone, and the unfinished jobs are then resumed
 * as orphans.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Keyv from 'keyv';
import KeyvSqlite from '@keyv/sqlite';
import { describe, expect, it } from 'vitest';
import { utcDay } from '../../src/core/job.js';
import type { JobRecord } from '../../src/core/job.js';
import { openStore } from '../../src/store.js';
import { rawQuery } from '../helpers/sqlite.js';

const T0 = 1_700_000_000_000;
const STATS_KEY = 'aimlapi/seedance-1-0-lite-t2v|720p|5s';
const OLD_OWNER = 'bot-host/123/abcd';

/** A record as the earlier version wrote it: no version, an owner naming host and pid. */
const oldRunning = {
  id: 'old-running-1',
  surface: 'discord',
  conversation: 'discord:chan-1',
  requester: { id: 'u1', name: 'Ursula' },
  meta: { guildId: 'g1' },
  request: { modelId: 'seedance-1-0-lite-t2v', prompt: 'a fox in the snow', resolution: '720p', duration: 5, seed: 42, fixedCamera: false, watermark: false },
  provider: 'aimlapi',
  status: 'running',
  providerStatus: 'generating',
  operation: { provider: 'aimlapi', id: 'gen-old-1' },
  progressMessage: 'discord:chan-1/m1',
  createdAt: T0,
  submittedAt: T0 + 2000,
  updatedAt: T0 + 5000,
  attempts: { submit: 1, delivery: 0 },
  owner: OLD_OWNER,
};

const oldDelivered = {
  ...oldRunning,
  id: 'old-delivered-1',
  status: 'delivered',
  operation: { provider: 'aimlapi', id: 'gen-old-0' },
  completedAt: T0 + 30_000,
  finishedAt: T0 + 40_000,
  result: { video: { kind: 'url', url: 'https://cdn.test/gen-old-0.mp4' }, deliveredAs: 'file', messageRef: 'discord:chan-1/m2' },
};

const stats = { n: 3, mean: 3.9, variance: 0.04 };

/** Writes a database the way the earlier version did (keyv over SQLite, namespace `seedance`). */
async function oldDatabase(file: string, extra: (kv: Keyv) => Promise<void> = async () => {}) {
  const adapter = new KeyvSqlite({ uri: `sqlite://${file}` });
  await adapter.query('PRAGMA journal_mode=WAL');
  const kv = new Keyv({ store: adapter, namespace: 'seedance' });
  await kv.set(`job:${oldRunning.id}`, oldRunning);
  await kv.set(`job:${oldDelivered.id}`, oldDelivered);
  await kv.set('idx:active:discord', [oldRunning.id]);
  await kv.set(`idx:conv:${oldRunning.conversation}`, [oldRunning.id]);
  await kv.set('idx:user:discord:u1', [oldRunning.id]);
  await kv.set(`lease:${OLD_OWNER}`, T0 + 60_000);
  await kv.set(`eta:${STATS_KEY}`, stats);
  await kv.set('guild:g1', { dailyLimit: 5 }); // not the job store's: must survive
  await extra(kv);
  await adapter.disconnect();
}

const keyvKeys = async (file: string) => (await rawQuery(file, 'SELECT key FROM keyv ORDER BY key')).map((r) => String(r.key));

function tempFile() {
  const dir = mkdtempSync(join(tmpdir(), 'seedance-migrate-'));
  return { dir, file: join(dir, 'seedance.sqlite') };
}

describe('migrating jobs kept as keyv values', () => {
  it('moves jobs and stats into the job table, drops the old keys and resumes the unfinished job', async () => {
    const { dir, file } = tempFile();
    await oldDatabase(file);
    // The fixture is what the earlier version left behind.
    expect(await keyvKeys(file)).toEqual([
      'seedance:eta:aimlapi/seedance-1-0-lite-t2v|720p|5s',
      'seedance:guild:g1',
      'seedance:idx:active:discord',
      'seedance:idx:conv:discord:chan-1',
      'seedance:idx:user:discord:u1',
      `seedance:job:${oldDelivered.id}`,
      `seedance:job:${oldRunning.id}`,
      `seedance:lease:${OLD_OWNER}`,
    ]);

    const db = await openStore(undefined, dir, { busyTimeoutMs: 5000 });
    try {
      // The job, whole, at version 1, still active and still its old owner's.
      expect(await db.jobs.get(oldRunning.id)).toEqual({ ...oldRunning, version: 1 });
      expect(await db.jobs.activeIds('discord')).toEqual([oldRunning.id]);
      expect(await db.jobs.get(oldDelivered.id)).toEqual({ ...oldDelivered, version: 1 });
      // It counts like any other job.
      expect(await db.jobs.usage({ surface: 'discord', requesterId: 'u1', day: utcDay(T0) })).toEqual({ active: 1, queued: 0, today: 2, todayInPlace: 0, queueLength: 0 });
      expect(await db.jobs.getStats(STATS_KEY)).toEqual(stats);

      // The old keys are gone; other keyv data is untouched.
      expect(await keyvKeys(file)).toEqual(['seedance:guild:g1']);
      expect(await db.kv.get('guild:g1')).toEqual({ dailyLimit: 5 });
      expect(await db.kv.get(`job:${oldRunning.id}`)).toBeUndefined();

      // Its owner has no lease in the new table: the first sweep resumes it.
      const claimed = await db.jobs.claimOrphans({ surfaces: ['discord'], self: 'new-instance', now: T0 + 10_000, deadOwners: [], limit: 10 });
      expect(claimed).toEqual([{ ...oldRunning, owner: 'new-instance', version: 2 }]);
      const w = await db.jobs.write({ ...claimed[0]!, providerStatus: 'completed' }, 2);
      expect(w.ok).toBe(true);
    } finally {
      await db.close();
    }

    // A second open finds nothing to migrate and changes nothing.
    const again = await openStore(undefined, dir, { busyTimeoutMs: 5000 });
    try {
      expect(await again.jobs.get(oldRunning.id)).toMatchObject({ version: 3, owner: 'new-instance', providerStatus: 'completed' });
      expect(await again.jobs.get(oldDelivered.id)).toEqual({ ...oldDelivered, version: 1 });
      expect(await again.jobs.activeIds('discord')).toEqual([oldRunning.id]);
      expect(await again.jobs.getStats(STATS_KEY)).toEqual(stats);
      expect(await keyvKeys(file)).toEqual(['seedance:guild:g1']);
      expect(await rawQuery(file, 'SELECT count(*) AS n FROM sd_jobs')).toEqual([{ n: 2 }]);
    } finally {
      await again.close();
    }
  });

  it('finishes a migration cut short without overwriting what the job table already has', async () => {
    const { dir, file } = tempFile();
    await oldDatabase(file);
    const first = await openStore(undefined, dir, { busyTimeoutMs: 5000 });
    const v1 = (await first.jobs.get(oldRunning.id))!;
    expect((await first.jobs.write({ ...v1, providerStatus: 'completed' }, 1)).ok).toBe(true);
    await first.jobs.putStats(STATS_KEY, { n: 4, mean: 4, variance: 0.05 });
    await first.close();

    // As if the process had died after copying but before deleting the old keys.
    const kvAdapter = new KeyvSqlite({ uri: `sqlite://${file}` });
    const kv = new Keyv({ store: kvAdapter, namespace: 'seedance' });
    await kv.set(`job:${oldRunning.id}`, oldRunning);
    await kv.set('idx:active:discord', [oldRunning.id]);
    await kv.set(`eta:${STATS_KEY}`, stats);
    await kvAdapter.disconnect();

    const second = await openStore(undefined, dir, { busyTimeoutMs: 5000 });
    try {
      expect(await second.jobs.get(oldRunning.id)).toMatchObject({ version: 2, providerStatus: 'completed', owner: OLD_OWNER });
      expect(await second.jobs.getStats(STATS_KEY)).toEqual({ n: 4, mean: 4, variance: 0.05 });
      expect(await keyvKeys(file)).toEqual(['seedance:guild:g1']);
    } finally {
      await second.close();
    }
  });

  it('opens a new database with no keyv data at all', async () => {
    const { dir } = tempFile();
    const db = await openStore(undefined, dir, { busyTimeoutMs: 5000 });
    try {
      expect(await db.jobs.activeIds('discord')).toEqual([]);
      const job: JobRecord = { ...(oldRunning as unknown as JobRecord), id: 'fresh', version: 0 };
      expect((await db.jobs.admit(job, { perUserActive: 1 })).ok).toBe(true);
    } finally {
      await db.close();
    }
  });
});
