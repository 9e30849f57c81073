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
    return this.locked(async () => {
      const done = await this.db.dataSource.runMigrations({ transaction: 'each' });
      return done.map((m) => m.name);
    });
  }

  /** Reverts the most recently applied migration; returns its name, or null when none is applied. */
  async revert(): Promise<string | null> {
    return this.locked(async () => {
      const applied = await this.appliedNames();
      if (applied.length === 0) return null;
      await this.db.dataSource.undoLastMigration({ transaction: 'each' });
      return applied[applied.length - 1];
    });
  }

  private knownNames(): string[] {
    return this.db.dataSource.migrations.map((m) => m.name ?? m.constructor.name);
  }

  private async appliedNames(): Promise<string[]> {
    const runner = this.db.dataSource.createQueryRunner();
    try {
      if (!(await runner.hasTable(MIGRATIONS_TABLE))) return [];
      const rows: Array<{ name: string }> = await runner.query(`SELECT name FROM ${MIGRATIONS_TABLE} ORDER BY timestamp, id`);
      return rows.map((r) => r.name);
    } finally {
      await runner.release();
    }
  }

  private async locked<T>(fn: () => Promise<T>): Promise<T> {
    if (this.db.engine !== 'postgres') return fn();
    const runner = this.db.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      return await fn();
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
      await runner.release();
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
