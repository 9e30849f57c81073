import type { Mutex } from './mutex';
import type { SqlParam, WriteStatement } from './sql-param';
import { beginImmediate, type SqliteWriter } from './sqlite-begin';

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
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * SQLite writes of one process, committed together: the writes that arrive while one transaction runs or waits
 * for the write lock (another worker's) all go into the next, which takes the lock once for them and writes the
 * pages they share (index leaves, the search index's structure) once to the write-ahead log. Each is still all
 * or nothing and fails alone: when one fails, the transaction is rolled back and the others run again in the
 * next (no savepoint per write: on the search index, FTS5 writes out its pending entries at every savepoint,
 * which cost a create about a third more). Each caller is answered after the commit that holds its write.
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
      if (this.pending.push({ statements, resolve, reject }) === 1) this.schedule();
    });
  }

  private schedule(): void {
    this.options.queue
      .run(() => this.flush())
      .catch((error: unknown) => {
        // Only when rolling back failed: the transaction's writes are told, none of them having been answered.
        this.options.failed(error, 'ROLLBACK');
        for (const write of this.batch) write.reject(error);
      });
  }

  private async flush(): Promise<void> {
    const connection = this.options.connection();
    try {
      await beginImmediate(connection, this.options.busyTimeoutMs);
    } catch (error) {
      this.options.failed(error, 'BEGIN IMMEDIATE');
      for (const write of this.pending.splice(0)) write.reject(error);
      return;
    }
    const batch = (this.batch = this.pending.splice(0));
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
        this.options.failed(error, sql);
        this.rollBack(connection);
        batch[i].reject(error);
        this.requeue([...batch.slice(0, i), ...batch.slice(i + 1)]);
        return;
      }
    }
    try {
      connection.exec('COMMIT');
    } catch (error) {
      this.options.failed(error, 'COMMIT');
      this.rollBack(connection);
      for (const write of batch) write.reject(error);
      return;
    }
    for (const write of batch) write.resolve();
  }

  /** Rolls the transaction back, if SQLite has not already (it does on a full disk, an I/O error). */
  private rollBack(connection: GroupCommitConnection): void {
    if (connection.inTransaction) connection.exec('ROLLBACK');
  }

  private requeue(writes: Pending[]): void {
    if (writes.length === 0) return;
    const queued = this.pending.length > 0;
    this.pending.unshift(...writes);
    if (!queued) this.schedule();
  }
}
