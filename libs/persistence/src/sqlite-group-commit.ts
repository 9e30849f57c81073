import type { Mutex } from './mutex';
import type { SqlParam, WriteStatement } from './sql-param';
import { beginImmediate, sqliteBusy, type SqliteWriter } from './sqlite-begin';

/** What GroupCommit needs of a better-sqlite3 connection. */
export interface GroupCommitConnection extends SqliteWriter {
  readonly inTransaction: boolean;
}

export interface GroupCommitOptions {
  connection(): GroupCommitConnection;
  /** The process's queue of write transactions (TypeORM's take their turns in it too). */
  queue: Mutex;
  busyTimeoutMs: number;
  /** Runs one prepared statement. */
  run(sql: string, params: readonly SqlParam[]): void;
  /** Reports a statement that failed (logged and counted as every failed statement is). */
  failed(error: unknown, sql: string): void;
}

interface Pending {
  statements: readonly WriteStatement[];
  /** When it was asked for (Date.now()): it waits for the lock `busyTimeoutMs` from then, whatever the others wait. */
  since: number;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * At most this many statements in one transaction, unless one write has more (an import: it goes alone): the
 * statements of a transaction run in one stretch, the event loop waiting, and a write that fails makes the
 * others of its transaction run again.
 */
const BATCH_STATEMENTS = 500;

/**
 * SQLite writes of one process, committed together: the writes that arrive while one transaction runs or waits
 * for the write lock (another worker's) go into the next, which takes the lock once for them and writes the
 * pages they share (index leaves, the search index's structure) once to the write-ahead log. Each is still all
 * or nothing and fails alone: when one fails, the transaction is rolled back and the others run again in the
 * next (no savepoint per write: on the search index, FTS5 writes out its pending entries at every savepoint,
 * which cost a create about a third more). Each caller is answered after the commit that holds its write, or
 * with SQLITE_BUSY once it has waited `busyTimeoutMs` for the lock.
 */
export class GroupCommit {
  private readonly pending: Pending[] = [];
  /** The writes of the transaction being written. */
  private batch: Pending[] = [];

  constructor(private readonly options: GroupCommitOptions) {}

  /** Runs the statements in order, each seeing the ones before, in a transaction of the next commit. */
  write(statements: readonly WriteStatement[]): Promise<void> {
    return new Promise((resolve, reject) => {
      // Whenever writes are pending, one flush is queued that has not yet taken them.
      if (this.pending.push({ statements, since: Date.now(), resolve, reject }) === 1) this.schedule();
    });
  }

  private schedule(): void {
    this.options.queue.run(() => this.flush()).catch((error: unknown) => this.report(error, 'flush'));
  }

  private async flush(): Promise<void> {
    if (this.pending.length === 0) return; // taken by the flush before
    try {
      await this.commitNext();
    } catch (error) {
      // Only when something unforeseen threw (a rollback that failed): no write is left waiting.
      for (const write of [...this.batch, ...this.pending.splice(0)]) write.reject(error);
      this.report(error, 'ROLLBACK');
    }
    this.batch = [];
    // Writes left for a later transaction (past BATCH_STATEMENTS, or waiting on): a flush for them.
    if (this.pending.length > 0) this.schedule();
  }

  private async commitNext(): Promise<void> {
    const connection = this.options.connection();
    try {
      // As long as the write that has waited longest may still wait.
      await beginImmediate(connection, this.options.busyTimeoutMs, { waitMs: this.pending[0].since + this.options.busyTimeoutMs - Date.now() });
    } catch (error) {
      this.report(error, 'BEGIN IMMEDIATE');
      // The writes that have waited their time fail (every one, on another error); the others wait on.
      const now = Date.now();
      const waiting = this.pending.splice(0).filter((write) => {
        if (sqliteBusy(error) && now - write.since < this.options.busyTimeoutMs) return true;
        write.reject(error);
        return false;
      });
      this.pending.unshift(...waiting);
      return;
    }
    const batch = (this.batch = this.take());
    for (let i = 0; i < batch.length; i++) {
      let sql = '';
      try {
        for (const statement of batch[i].statements) {
          sql = statement.sql;
          this.options.run(statement.sql, statement.params ?? []);
        }
      } catch (error) {
        // Its statements before the failing one are in the transaction too, so none of it is kept: the write fails
        // alone, and the others go again into the next transaction (the others' errors are their own, in theirs).
        this.report(error, sql);
        this.rollBack(connection);
        batch[i].reject(error);
        this.pending.unshift(...batch.slice(0, i), ...batch.slice(i + 1));
        return;
      }
    }
    try {
      connection.exec('COMMIT');
    } catch (error) {
      this.report(error, 'COMMIT');
      this.rollBack(connection);
      for (const write of batch) write.reject(error);
      return;
    }
    for (const write of batch) write.resolve();
  }

  /** The pending writes of the next transaction, in order: at least one, at most BATCH_STATEMENTS statements. */
  private take(): Pending[] {
    let count = this.pending[0].statements.length;
    let n = 1;
    while (n < this.pending.length && count + this.pending[n].statements.length <= BATCH_STATEMENTS) count += this.pending[n++].statements.length;
    return this.pending.splice(0, n);
  }

  /** Rolls the transaction back, if SQLite has not already (it does on a full disk, an I/O error). */
  private rollBack(connection: GroupCommitConnection): void {
    if (connection.inTransaction) connection.exec('ROLLBACK');
  }

  private report(error: unknown, sql: string): void {
    try {
      this.options.failed(error, sql);
    } catch {
      // The log's trouble is not the write's.
    }
  }
}
