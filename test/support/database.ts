import { Database, Engine, createDataSource } from '@kiroku/persistence';
import { SCHEMA } from '../../src/schema';
import { freshDatabase } from './engines';
import { testConfig } from './test-app';

export interface OpenDatabase {
  db: Database;
  env: Record<string, string>;
  close(): Promise<void>;
}

/** A new empty database of the engine, opened with the application's schema definition (not migrated). */
export async function openFreshDatabase(engine: Engine, overrides: Record<string, string> = {}): Promise<OpenDatabase> {
  const env = { ...(await freshDatabase(engine)), ...overrides };
  const dataSource = createDataSource(testConfig(env).database, SCHEMA, 'kiroku-test');
  await dataSource.initialize();
  const db = new Database(dataSource);
  return {
    db,
    env,
    close: async () => {
      await db.beforeApplicationShutdown();
      await dataSource.destroy();
    },
  };
}

/**
 * SQLite's EXPLAIN QUERY PLAN of a statement written with $n parameters, one line per step: each $n becomes a
 * `?` bound to its value as it occurs, as Database.select binds them. `query` runs it (a query runner's or the
 * manager's, so that a caller's open transaction sees its own rows).
 */
export async function sqliteQueryPlan(query: (sql: string, values: unknown[]) => Promise<unknown>, sql: string, params: readonly unknown[]): Promise<string> {
  const values = [...sql.matchAll(/\$(\d+)/g)].map((m) => params[Number(m[1]) - 1]);
  const rows = (await query(`EXPLAIN QUERY PLAN ${sql.replace(/\$\d+/g, '?')}`, values)) as Array<{ detail: string }>;
  return rows.map((r) => r.detail).join('\n');
}

/** The rows the scans of `table` returned in a PostgreSQL plan (`EXPLAIN (ANALYZE, FORMAT JSON)`), over all their loops. */
export function planRowsOf(node: PlanNode, table: string): number {
  const own = node['Relation Name'] === table ? node['Actual Rows'] * node['Actual Loops'] : 0;
  return own + (node.Plans ?? []).reduce((sum, child) => sum + planRowsOf(child, table), 0);
}

export interface PlanNode {
  'Relation Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  Plans?: PlanNode[];
}

/**
 * Makes the database refuse the rows of `table` that `when` (a condition on NEW) picks, with a trigger that raises on
 * their INSERT, as a database failing that one statement mid-write would; answers the function that lifts it.
 */
export async function refuseInserts(db: Database, engine: Engine, table: string, when = 'TRUE'): Promise<() => Promise<void>> {
  const name = `refuse_${table}_${Math.random().toString(36).slice(2, 8)}`;
  if (engine === 'sqlite') {
    await db.dataSource.query(`CREATE TRIGGER ${name} BEFORE INSERT ON ${table} WHEN ${when} BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`);
    return async () => void (await db.dataSource.query(`DROP TRIGGER ${name}`));
  }
  await db.dataSource.query(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$`);
  await db.dataSource.query(`CREATE TRIGGER ${name} BEFORE INSERT ON ${table} FOR EACH ROW WHEN (${when}) EXECUTE FUNCTION ${name}()`);
  return async () => {
    await db.dataSource.query(`DROP TRIGGER ${name} ON ${table}`);
    await db.dataSource.query(`DROP FUNCTION ${name}`);
  };
}

/** The audit trail refuses every event of one type (see refuseInserts). */
export function refuseAuditEvents(db: Database, engine: Engine, type: string): Promise<() => Promise<void>> {
  return refuseInserts(db, engine, 'audit_events', `NEW.type = '${type}'`);
}
