/**
 * Raw access to a store's SQLite file from a second connection, as another
 * process would have: plain queries, and a real lock that makes every write of
 * the store fail (SQLITE_BUSY after its busy timeout) while reads still work.
 */
import sqlite3 from 'sqlite3';

function open(file: string): Promise<sqlite3.Database> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, (err) => (err ? reject(err) : resolve(db)));
  });
}

const exec = (db: sqlite3.Database, sql: string) => new Promise<void>((resolve, reject) => db.exec(sql, (err) => (err ? reject(err) : resolve())));
const close = (db: sqlite3.Database) => new Promise<void>((resolve, reject) => db.close((err) => (err ? reject(err) : resolve())));

/** Runs one query on a connection of its own and returns the rows. */
export async function rawQuery(file: string, sql: string, ...params: unknown[]): Promise<Record<string, unknown>[]> {
  const db = await open(file);
  try {
    return await new Promise((resolve, reject) => db.all(sql, params, (err, rows) => (err ? reject(err) : resolve(rows as Record<string, unknown>[]))));
  } finally {
    await close(db);
  }
}

export interface DatabaseLock {
  /** Ends the transaction (COMMIT) and closes the connection; idempotent. */
  release(): Promise<void>;
}

/**
 * Takes the database's write lock from another connection (`BEGIN EXCLUSIVE`, held until
 * `release`). In WAL mode the store can still read; every write it tries fails with
 * SQLITE_BUSY once its busy timeout has passed.
 */
export async function lockDatabase(file: string): Promise<DatabaseLock> {
  const db = await open(file);
  // Wait for a write of the store that is under way rather than failing to lock.
  db.configure('busyTimeout', 10_000);
  await exec(db, 'BEGIN EXCLUSIVE');
  let released: Promise<void> | undefined;
  return {
    release() {
      released ??= exec(db, 'COMMIT').finally(() => close(db));
      return released;
    },
  };
}
