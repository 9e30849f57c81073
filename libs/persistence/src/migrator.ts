import { MigrationExecutor, QueryRunner } from 'typeorm';
import { Database } from './database';
import { MIGRATIONS_TABLE } from './data-source.factory';

export interface MigrationState {
  name: string;
  applied: boolean;
}

/** An arbitrary constant: the advisory lock every Kiroku instance takes to migrate. */
const MIGRATION_LOCK_KEY = 746_172_760;

/**
 * Applies the listed migrations. On PostgreSQL the run holds an advisory lock,
 * so replicas that start together migrate once: the first applies, the others
 * wait and then find nothing pending.
 */
export class Migrator {
  constructor(private readonly db: Database) {}

  /** Every known migration, oldest first, and whether it is applied. */
  async status(): Promise<MigrationState[]> {
    const applied = new Set(await this.appliedNames());
    return this.knownNames().map((name) => ({ name, applied: applied.has(name) }));
  }

  async pending(): Promise<string[]> {
    return (await this.status()).filter((m) => !m.applied).map((m) => m.name);
  }

  /** Applied names the code does not know: the database is newer than this build. */
  async unknownApplied(): Promise<string[]> {
    const known = new Set(this.knownNames());
    return (await this.appliedNames()).filter((name) => !known.has(name));
  }

  async run(): Promise<string[]> {
    return this.locked(async (runner) => {
      const done = await this.executor(runner).executePendingMigrations();
      return done.map((m) => m.name);
    });
  }

  /** Reverts the most recently applied migration; returns its name, or null when none is applied. */
  async revert(): Promise<string | null> {
    return this.locked(async (runner) => {
      const before = await this.appliedNames();
      if (before.length === 0) return null;
      await this.executor(runner).undoLastMigration();
      const after = new Set(await this.appliedNames());
      return before.find((name) => !after.has(name)) ?? null;
    });
  }

  private executor(runner: QueryRunner): MigrationExecutor {
    const executor = new MigrationExecutor(this.db.dataSource, runner);
    executor.transaction = 'each';
    return executor;
  }

  private knownNames(): string[] {
    return this.db.dataSource.migrations.map((m) => m.name ?? m.constructor.name);
  }

  private async appliedNames(): Promise<string[]> {
    const runner = this.db.dataSource.createQueryRunner();
    try {
      if (!(await runner.hasTable(MIGRATIONS_TABLE))) return [];
      const rows = (await runner.query(`SELECT name FROM ${MIGRATIONS_TABLE} ORDER BY timestamp, id`)) as Array<{ name: string }>;
      return rows.map((r) => r.name);
    } finally {
      await runner.release();
    }
  }

  /**
   * Runs fn on one connection. On PostgreSQL that connection holds the
   * advisory lock and has no statement timeout: waiting behind another
   * replica's migration, or a long CREATE INDEX, must not be cancelled.
   */
  private async locked<T>(fn: (runner: QueryRunner) => Promise<T>): Promise<T> {
    const runner = this.db.dataSource.createQueryRunner();
    if (this.db.engine !== 'postgres') {
      try {
        return await fn(runner);
      } finally {
        await runner.release();
      }
    }
    await runner.connect();
    let failure: Error | undefined;
    try {
      await runner.query('SET statement_timeout = 0');
      await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      return await fn(runner);
    } finally {
      try {
        await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
        await runner.query('RESET statement_timeout');
      } catch (error) {
        failure = error as Error;
      }
      // A connection whose unlock failed may still hold the lock: destroy it rather than pool it.
      const pg = runner as QueryRunner & { releasePostgresConnection(error?: Error): Promise<void> };
      await (failure ? pg.releasePostgresConnection(failure) : runner.release());
    }
  }
}

/**
 * The SQL TypeORM would run to make the live schema match the entities.
 * Empty means the migrations and the entities agree.
 */
export async function schemaDrift(db: Database): Promise<string[]> {
  const sql = await db.dataSource.driver.createSchemaBuilder().log();
  return sql.upQueries.map((q) => q.query);
}
