import { DataSource, EntityManager } from 'typeorm';
import { Engine } from './data-source.factory';
import { Mutex } from './mutex';

/**
 * The application's handle on its database: the TypeORM DataSource plus the
 * few behaviours that must be the same on both engines.
 */
export class Database {
  readonly engine: Engine;
  /** better-sqlite3 has one connection: concurrent transactions would interleave on it. */
  private readonly writeQueue = new Mutex();

  constructor(readonly dataSource: DataSource) {
    this.engine = dataSource.options.type === 'postgres' ? 'postgres' : 'sqlite';
  }

  get manager(): EntityManager {
    return this.dataSource.manager;
  }

  /** Runs fn in one transaction; on SQLite, transactions of this process run one after another. */
  transaction<T>(fn: (manager: EntityManager) => Promise<T>): Promise<T> {
    const run = () => this.dataSource.transaction(fn);
    return this.engine === 'sqlite' ? this.writeQueue.run(run) : run();
  }

  /** A cheap round trip; rejects when the database does not answer within timeoutMs. */
  async ping(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.dataSource.query('SELECT 1'), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The server's version string, for catalogs and the console. */
  async serverVersion(): Promise<string> {
    if (this.engine === 'postgres') {
      const [row] = await this.dataSource.query('SHOW server_version');
      return `PostgreSQL ${row.server_version}`;
    }
    const [row] = await this.dataSource.query('SELECT sqlite_version() AS version');
    return `SQLite ${row.version}`;
  }
}
