import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { DatabaseConfig } from '@kiroku/config';
import { createDataSource, Database, Engine, Migrator, type SchemaDefinition } from '@kiroku/persistence';
import { SqliteFileLock } from '@kiroku/supervisor';
import type BetterSqlite3 from 'better-sqlite3';
import type { Pool, PoolClient } from 'pg';
import { DataSource } from 'typeorm';
import { ColumnValue, encodeRow } from './row-codec';
import { PlannedTable, planTables } from './table-plan';

/** SQLite page cache of a transfer's connection. */
const TRANSFER_SQLITE_CACHE_KIB = 8 * 1024;

/** A refusal or failure the CLI prints as its one-line reason. */
export class TransferRefused extends Error {}

/** `--from` / `--to`: a postgres:// URL, or else a SQLite file path. */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//.test(location);
}

/** The database settings with the location swapped for `location` (timeouts and pool size kept). */
export function databaseAt(base: DatabaseConfig, location: string): DatabaseConfig {
  const config = Object.assign(Object.create(DatabaseConfig.prototype) as DatabaseConfig, base);
  if (isPostgresUrl(location)) {
    config.url = location;
  } else {
    config.url = undefined;
    config.path = resolve(location);
  }
  return config;
}

/** A location as people may see it: never a password. */
export function describeLocation(config: DatabaseConfig): string {
  if (!config.url) return config.path;
  try {
    const url = new URL(config.url);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    // pg takes URLs that URL cannot parse (a socket folder in ?host=, no host name): mask the password by hand.
    return config.url.replace(/^([^:]+:\/\/[^:@/]*):[^@/]*@/, '$1:***@');
  }
}

/** Rows read from one table, in key order, one batch at a time. */
export type RowBatches = AsyncGenerator<Array<Record<string, ColumnValue>>>;

/**
 * One database opened for a transfer: its schema plan, a raw connection for
 * reads inside one consistent snapshot, and batch inserts.
 */
export class Endpoint {
  readonly db: Database;
  readonly plan: PlannedTable[];
  private lock?: SqliteFileLock;
  private pgClient?: PoolClient;

  private constructor(
    readonly config: DatabaseConfig,
    readonly dataSource: DataSource,
  ) {
    this.db = new Database(dataSource);
    this.plan = planTables(dataSource);
  }

  get engine(): Engine {
    return this.db.engine;
  }

  get description(): string {
    return describeLocation(this.config);
  }

  /**
   * Opens the database. A SQLite file that a running Kiroku serves is refused
   * when `exclusive` (it is about to be written).
   */
  static async open(config: DatabaseConfig, schema: SchemaDefinition, options: { exclusive: boolean; mustExist?: boolean }): Promise<Endpoint> {
    if (config.engine === 'sqlite' && options.mustExist) {
      if (!existsSync(config.path)) throw new TransferRefused(`${config.path} does not exist`);
    }
    let lock: SqliteFileLock | undefined;
    if (config.engine === 'sqlite' && options.exclusive) {
      lock = new SqliteFileLock(config.path);
      if (!lock.tryAcquire()) throw new TransferRefused(`a Kiroku server is using ${config.path}: stop it first`);
    }
    const dataSource = createDataSource(config, schema, 'kiroku-transfer');
    try {
      await dataSource.initialize();
    } catch (error) {
      lock?.release();
      throw new TransferRefused(`cannot open ${describeLocation(config)}: ${(error as Error).message}`);
    }
    const endpoint = new Endpoint(config, dataSource);
    endpoint.lock = lock;
    // One pass over every table gains little from the server's 64 MiB page cache, and the copy's memory should not grow with the file.
    if (endpoint.engine === 'sqlite') endpoint.sqlite().pragma(`cache_size = -${TRANSFER_SQLITE_CACHE_KIB}`);
    return endpoint;
  }

  async close(): Promise<void> {
    await this.endSnapshot();
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
    this.lock?.release();
  }

  /** Applies pending migrations (a new target) and returns this build's schema version. */
  async migrate(): Promise<string> {
    await new Migrator(this.db).run();
    return this.schemaVersion();
  }

  /** The newest applied migration; refuses a database that is behind or ahead of this build. */
  async schemaVersion(): Promise<string> {
    const migrator = new Migrator(this.db);
    const unknown = await migrator.unknownApplied();
    if (unknown.length) throw new TransferRefused(`${this.description} was migrated by a newer Kiroku (${unknown[0]}): use that version`);
    const states = await migrator.status();
    const pending = states.filter((s) => !s.applied);
    if (pending.length)
      throw new TransferRefused(`${this.description} has ${pending.length} pending migration(s): run \`kiroku migrate run\` against it first`);
    return states[states.length - 1]?.name ?? 'none';
  }

  /** Rows per copied table, counted now (or inside the snapshot once begun). */
  async rowCounts(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const table of this.plan) {
      const [row] = await this.read(`SELECT count(*) AS n FROM ${quote(table.name)}`);
      counts[table.name] = Number(row.n);
    }
    return counts;
  }

  /** The copied tables that hold rows, for a refusal ("2 rows in users, 1 row in audit_events"); empty when none do. */
  async filledTables(): Promise<string> {
    return Object.entries(await this.rowCounts())
      .filter(([, n]) => n > 0)
      .map(([t, n]) => `${countRows(n)} in ${t}`)
      .join(', ');
  }

  /**
   * Starts one read-only snapshot every later read sees: a REPEATABLE READ
   * transaction on PostgreSQL, a read transaction on SQLite (WAL: writers go
   * on, this connection keeps seeing the database as it was).
   */
  async beginSnapshot(): Promise<void> {
    if (this.engine === 'postgres') {
      this.pgClient = await this.pool().connect();
      await this.pgClient.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    } else {
      this.sqlite().exec('BEGIN');
      // A read transaction starts at its first read: take the snapshot now.
      this.sqlite().prepare('SELECT count(*) FROM sqlite_master').get();
    }
  }

  async endSnapshot(): Promise<void> {
    if (this.pgClient) {
      const client = this.pgClient;
      this.pgClient = undefined;
      await client.query('COMMIT').catch(() => undefined);
      client.release();
    } else if (this.engine === 'sqlite' && this.dataSource.isInitialized && this.sqlite().inTransaction) {
      this.sqlite().exec('COMMIT');
    }
  }

  /** The table's rows in key order, `batch` at a time (keyset pagination: constant memory, no OFFSET scans). */
  async *rows(table: PlannedTable, batch: number): RowBatches {
    const columns = table.columns.map((c) => quote(c.name)).join(', ');
    // PostgreSQL sorts text by the database's collation; "C" is byte order, which is SQLite's order too.
    const keyExpr = (c: string) =>
      this.engine === 'postgres' && table.columns.find((x) => x.name === c)!.kind === 'text' ? `${quote(c)} COLLATE "C"` : quote(c);
    const order = table.key.map(keyExpr).join(', ');
    let after: unknown[] | null = null;
    for (;;) {
      const where: string = after ? `WHERE (${order}) > (${table.key.map((_, i) => this.db.placeholder(i + 1)).join(', ')})` : '';
      const sql = `SELECT ${columns} FROM ${quote(table.name)} ${where} ORDER BY ${order} LIMIT ${batch}`;
      const rows = await this.read(sql, after ?? []);
      if (rows.length === 0) return;
      yield rows;
      if (rows.length < batch) return;
      const last = rows[rows.length - 1];
      after = table.key.map((k) => last[k]);
    }
  }

  /** Inserts rows (already decoded for this engine) in one statement per chunk, through `query`. */
  async insert(
    table: PlannedTable,
    rows: unknown[][],
    query: (sql: string, params: unknown[]) => Promise<unknown> = (sql, params) => this.dataSource.query(sql, params),
  ): Promise<void> {
    // PostgreSQL takes at most 65,535 parameters in a statement, SQLite 32,766.
    const perStatement = Math.max(1, Math.floor(30_000 / table.columns.length));
    const columns = table.columns.map((c) => quote(c.name)).join(', ');
    for (let start = 0; start < rows.length; start += perStatement) {
      const chunk = rows.slice(start, start + perStatement);
      let n = 0;
      const values = chunk.map((r) => `(${r.map(() => this.db.placeholder(++n)).join(', ')})`).join(', ');
      await query(`INSERT INTO ${quote(table.name)} (${columns}) VALUES ${values}`, chunk.flat());
    }
  }

  /**
   * PostgreSQL: moves every sequence behind a copied table's serial or
   * identity column past the largest copied value, so the next insert does not
   * collide. (No copied table has one today: keys are UUIDs and natural keys.)
   * Returns the sequences set.
   */
  async resetSequences(
    query: (sql: string, params: unknown[]) => Promise<Array<Record<string, unknown>>> = (sql, params) => this.dataSource.query(sql, params),
  ): Promise<string[]> {
    if (this.engine !== 'postgres') return [];
    const tables = this.plan.map((t) => t.name);
    const owned = await query(
      `SELECT c.table_name AS "table", c.column_name AS "column", pg_get_serial_sequence(quote_ident(c.table_name), c.column_name) AS "sequence"
         FROM information_schema.columns c
        WHERE c.table_schema = 'public' AND c.table_name = ANY($1) AND (c.column_default LIKE 'nextval(%' OR c.is_identity = 'YES')`,
      [tables],
    );
    const done: string[] = [];
    for (const { table, column, sequence } of owned as Array<{ table: string; column: string; sequence: string | null }>) {
      if (!sequence) continue;
      await query(`SELECT setval($1, COALESCE((SELECT max(${quote(column)}) FROM ${quote(table)}), 0) + 1, false)`, [sequence]);
      done.push(sequence);
    }
    return done;
  }

  /** Canonical lines of a table, in key order: for hashing and archives. */
  async *lines(table: PlannedTable, batch: number): AsyncGenerator<string[]> {
    for await (const rows of this.rows(table, batch)) yield rows.map((r) => encodeRow(table, r));
  }

  private async read(sql: string, params: unknown[] = []): Promise<Array<Record<string, ColumnValue>>> {
    if (this.engine === 'postgres') {
      const client = this.pgClient;
      if (client) return (await client.query<Record<string, ColumnValue>>(sql, params)).rows;
      return (await this.pool().query<Record<string, ColumnValue>>(sql, params)).rows;
    }
    // Integers as BigInt: values beyond 2^53 must not be rounded on the way out.
    return this.sqlite()
      .prepare(sql)
      .safeIntegers(true)
      .all(...params) as Array<Record<string, ColumnValue>>;
  }

  private pool(): Pool {
    return (this.dataSource.driver as unknown as { master: Pool }).master;
  }

  private sqlite(): BetterSqlite3.Database {
    return (this.dataSource.driver as unknown as { databaseConnection: BetterSqlite3.Database }).databaseConnection;
  }
}

export function countRows(n: number): string {
  return `${n} ${n === 1 ? 'row' : 'rows'}`;
}

/** One line of a transfer's per-table progress: the name in a column wide enough for every table (alert_notifications). */
export function tableLine(name: string, rows: number): string {
  return `  ${name.padEnd(20)} ${countRows(rows)}`;
}

export function quote(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}
