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
 */
import sqlite3 from 'sqlite3';
import type { Query, SqlRunner } from './sqlite-job-store.js';

export interface SqliteConnection extends SqlRunner {
  close(): Promise<void>;
}

export async function openSqlite(file: string, opts: { busyTimeoutMs: number }): Promise<SqliteConnection> {
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const d = new sqlite3.Database(file, (err) => (err ? reject(err) : resolve(d)));
  });
  db.configure('busyTimeout', opts.busyTimeoutMs);
  const statements = new Map<string, sqlite3.Statement>();
  let tail: Promise<unknown> = Promise.resolve();

  const prepare = (sql: string) =>
    new Promise<sqlite3.Statement>((resolve, reject) => {
      const st = db.prepare(sql, (err) => (err ? reject(err) : resolve(st)));
    });
  const finalize = (st: sqlite3.Statement) => new Promise<void>((resolve) => st.finalize(() => resolve()));

  async function run(sql: string, params: unknown[]): Promise<Record<string, unknown>[]> {
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
    async close() {
      await tail;
      for (const st of statements.values()) await finalize(st);
      statements.clear();
      await new Promise<void>((resolve, reject) => db.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
