/**
 * The job table's own connection to the SQLite file (keyv keeps its own). Two
 * things make it cheap for the event loop at thousands of jobs in flight:
 * - statements run one at a time, from a queue here: handing node-sqlite3
 *   thousands at once blocks the event loop for about 0.1 ms each (10,000
 *   queued inserts: a one-second stall);
 * - each statement is prepared once and reused, which costs the event loop about
 *   half as much per statement as preparing it every time.
 * A statement that failed (say SQLITE_BUSY, while another process holds the
 * lock) can keep the connection's transaction open until it is reset; it is
 * finalized before anything else runs, so no later statement's changes can be
 * caught in that transaction and rolled back with it.
 *
 * Its health is what the last statements found: down after a write (or a read)
 * failed because the database can't be used (locked past the busy timeout,
 * read-only, disk full or failing), up again once one succeeds. A statement
 * that was merely wrong (a constraint) says nothing about that.
 */
import sqlite3 from 'sqlite3';
import type { StoreHealth } from '../store.js';
import type { Query, SqlRunner } from './sqlite-job-store.js';

export interface SqliteConnection extends SqlRunner {
  /** From the last statements' outcomes; no I/O. */
  health(): StoreHealth;
  close(): Promise<void>;
}

/** Result codes that mean the database can't be used now, rather than that one statement was wrong. */
const UNAVAILABLE = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_READONLY', 'SQLITE_IOERR', 'SQLITE_FULL', 'SQLITE_CANTOPEN', 'SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_PERM', 'SQLITE_PROTOCOL']);

export async function openSqlite(file: string, opts: { busyTimeoutMs: number }): Promise<SqliteConnection> {
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const d = new sqlite3.Database(file, (err) => (err ? reject(err) : resolve(d)));
  });
  db.configure('busyTimeout', opts.busyTimeoutMs);
  const statements = new Map<string, sqlite3.Statement>();
  let tail: Promise<unknown> = Promise.resolve();
  // A read that works says nothing about writes; a write that works clears both.
  const failed: { write?: string; read?: string } = {};

  const prepare = (sql: string) =>
    new Promise<sqlite3.Statement>((resolve, reject) => {
      const st = db.prepare(sql, (err) => (err ? reject(err) : resolve(st)));
    });
  const finalize = (st: sqlite3.Statement) => new Promise<void>((resolve) => st.finalize(() => resolve()));

  async function run(sql: string, params: unknown[]): Promise<Record<string, unknown>[]> {
    const write = !/^\s*SELECT\b/i.test(sql);
    try {
      const rows = await runStatement(sql, params);
      if (write) failed.write = undefined;
      failed.read = undefined;
      return rows;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && UNAVAILABLE.has(code)) failed[write ? 'write' : 'read'] = (err as Error).message;
      throw err;
    }
  }

  async function runStatement(sql: string, params: unknown[]): Promise<Record<string, unknown>[]> {
    let st = statements.get(sql);
    if (!st) {
      st = await prepare(sql);
      statements.set(sql, st);
    }
    const statement = st;
    try {
      return await new Promise((resolve, reject) => statement.all(params, (err: Error | null, rows: Record<string, unknown>[]) => (err ? reject(err) : resolve(rows))));
    } catch (err) {
      statements.delete(sql);
      await finalize(statement);
      throw err;
    }
  }

  const query: Query = (sql, ...params) => {
    const result = tail.then(() => run(sql, params));
    tail = result.catch(() => undefined);
    return result;
  };

  const lazy: SqlRunner['lazy'] = (sql, params) => {
    const result = tail.then(() => run(sql, params()));
    tail = result.catch(() => undefined);
    return result;
  };

  return {
    query,
    lazy,
    health() {
      if (failed.write) return { up: false, reason: `SQLite could not write (${failed.write})` };
      if (failed.read) return { up: false, reason: `SQLite could not read (${failed.read})` };
      return { up: true };
    },
    async close() {
      await tail;
      for (const st of statements.values()) await finalize(st);
      statements.clear();
      await new Promise<void>((resolve, reject) => db.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
