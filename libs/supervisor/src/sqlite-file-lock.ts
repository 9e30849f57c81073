import BetterSqlite3 from 'better-sqlite3';

/**
 * An exclusive lock that says "this process serves this SQLite database":
 * an open EXCLUSIVE transaction on a small companion file (`<db>.lock`).
 * The operating system drops it when the process dies, however it dies, so
 * unlike a pid check it works across containers sharing a volume and cannot be
 * fooled by a reused pid.
 */
export class SqliteFileLock {
  private handle?: BetterSqlite3.Database;

  constructor(readonly databasePath: string) {}

  get path(): string {
    return `${this.databasePath}.lock`;
  }

  get held(): boolean {
    return this.handle !== undefined;
  }

  /** True when this process holds the lock (now or already); false when another does. */
  tryAcquire(): boolean {
    if (this.handle) return true;
    const db = new BetterSqlite3(this.path, { timeout: 0 });
    try {
      db.pragma('journal_mode = DELETE');
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('BEGIN EXCLUSIVE');
      this.handle = db;
      return true;
    } catch (error) {
      db.close();
      if ((error as { code?: string }).code === 'SQLITE_BUSY') return false;
      throw error;
    }
  }

  release(): void {
    this.handle?.close();
    this.handle = undefined;
  }
}
