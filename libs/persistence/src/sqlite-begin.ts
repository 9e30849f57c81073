import { type FSWatcher, watch } from 'node:fs';
import { DataSource, QueryFailedError } from 'typeorm';

/** What beginImmediate needs of a better-sqlite3 connection. */
export interface SqliteWriter {
  exec(sql: string): unknown;
  pragma(sql: string): unknown;
  /** The database file's path (better-sqlite3's `name`): its write-ahead log is this and `-wal`. */
  readonly name?: string;
}

/** How long a writer waits at most between two tries for the write lock another process holds. */
const RETRY_MS = 1;

export interface BeginOptions {
  /** At most this long between two tries (RETRY_MS). */
  retryMs?: number;
  /** How long to wait for the lock, when not `busyTimeoutMs` (the connection's busy_timeout, restored after the try). */
  waitMs?: number;
}

/**
 * `BEGIN IMMEDIATE` that waits for the write lock without stopping the event loop.
 *
 * With busy_timeout, SQLite waits inside the call: better-sqlite3 is synchronous, so a worker whose write waits
 * for another worker's transaction serves nothing meanwhile (not its reads, not its probes), and SQLite's own
 * waits grow (1, 2, 5, 10, 15 … ms) past the moment the lock is free. Here each try fails at once
 * (busy_timeout 0 for the one statement, restored before anything else can use the connection) and the next
 * comes when the write-ahead log changes (the other writer committed: its lock is free, or about to be) or a
 * timer of `retryMs` runs out, whichever is first, until `waitMs` (`busyTimeoutMs` unless told) has passed;
 * then the last SQLITE_BUSY is thrown, as busy_timeout would. Waking at the commit rather than at the next timer
 * let two workers write 13–15% more notes a second.
 */
export async function beginImmediate(connection: SqliteWriter, busyTimeoutMs: number, options: BeginOptions = {}): Promise<void> {
  const retryMs = options.retryMs ?? RETRY_MS;
  const deadline = Date.now() + (options.waitMs ?? busyTimeoutMs);
  const wal = connection.name && connection.name !== ':memory:' ? `${connection.name}-wal` : null;
  for (;;) {
    try {
      connection.pragma('busy_timeout = 0');
      try {
        connection.exec('BEGIN IMMEDIATE');
      } finally {
        connection.pragma(`busy_timeout = ${busyTimeoutMs}`);
      }
      return;
    } catch (error) {
      if (!sqliteBusy(error) || Date.now() >= deadline) throw error;
    }
    await changeOrTimeout(wal, Math.min(retryMs, Math.max(0, deadline - Date.now())));
  }
}

/** Whether an error is SQLite's SQLITE_BUSY (or one of its extended codes): a lock another connection holds. */
export function sqliteBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/** Resolves when the file changes (inotify, through fs.watch) or after `ms`, whichever is first. */
function changeOrTimeout(file: string | null, ms: number): Promise<void> {
  return new Promise((resolve) => {
    let watcher: FSWatcher | undefined;
    const finish = () => {
      clearTimeout(timer);
      watcher?.close();
      resolve();
    };
    const timer = setTimeout(finish, ms);
    if (!file) return;
    try {
      watcher = watch(file, { persistent: false }, finish);
      watcher.on('error', finish);
    } catch {
      // No such file yet, or no inotify watch left: the timer alone.
    }
  });
}

/**
 * TypeORM 1.x starts SQLite transactions with a plain (deferred) BEGIN and has
 * no option for another kind. A deferred transaction that reads and then
 * writes must upgrade its lock; when another process of the machine (a
 * worker) wrote in between, the upgrade fails at once with SQLITE_BUSY
 * instead of waiting out busy_timeout. BEGIN IMMEDIATE takes the write lock
 * first (see beginImmediate for how it waits), so no upgrade can fail. Every
 * transaction here writes (reads go through `select`), and one process's
 * transactions already queue (Database's writeQueue), so nothing is lost by
 * it. better-sqlite3 has one query runner per DataSource: its statement is the
 * one replaced.
 */
export function writeTransactionsBeginImmediate(dataSource: DataSource): void {
  const busyTimeoutMs = (dataSource.options as { timeout?: number }).timeout ?? 5000;
  const runner = dataSource.driver.createQueryRunner('master');
  const driver = dataSource.driver as unknown as { databaseConnection: SqliteWriter };
  const query = runner.query.bind(runner) as (sql: string, ...rest: unknown[]) => Promise<unknown>;
  (runner as unknown as { query: typeof query }).query = async (sql, ...rest) => {
    if (sql !== 'BEGIN TRANSACTION') return query(sql, ...rest);
    try {
      await beginImmediate(driver.databaseConnection, busyTimeoutMs);
    } catch (error) {
      // As the runner reports a failed statement, so that callers see one kind of error.
      throw new QueryFailedError('BEGIN IMMEDIATE', [], error as Error);
    }
    return undefined;
  };
}
