import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { DataSource, EntityManager, ObjectType, ValueTransformer } from 'typeorm';
import { Engine } from './data-source.factory';
import { Mutex } from './mutex';
import type { SqlParam, WriteStatement } from './sql-param';
import type { QueryStats } from './query-stats';
import { BACKSTOP_AUTOCHECKPOINT, CheckpointStats, SqliteCheckpointer } from './sqlite-checkpointer';
import { writeTransactionsBeginImmediate } from './sqlite-begin';
import { GroupCommit } from './sqlite-group-commit';

export type { SqlParam, WriteStatement } from './sql-param';

interface SqliteStatement {
  all(params?: Record<string, SqlParam>): unknown[];
  run(params?: Record<string, SqlParam>): unknown;
  raw(toggle?: boolean): SqliteStatement;
}

interface SqliteConnection {
  readonly open: boolean;
  readonly inTransaction: boolean;
  exec(sql: string): unknown;
  prepare(sql: string): SqliteStatement;
  pragma(sql: string): unknown;
}

/** The columns of an entity for a statement, and what turns them back into the entity (instants as Dates). */
export interface EntityColumns<T> {
  /** `alias.column AS "alias.property"`, comma-separated, in entity order. */
  sql: string;
  /** How many columns `sql` selects. */
  count: number;
  /** The entity from a `selectValues` row, its columns starting at `offset`. */
  read(values: readonly unknown[], offset?: number): T;
}

/** `$1`…`$n` as better-sqlite3's named parameters. */
const sqliteParams = (params: readonly SqlParam[]): Record<string, SqlParam> => Object.fromEntries(params.map((p, i) => [String(i + 1), p]));

/** How this handle looks after the SQLite file's write-ahead log. */
export interface DatabaseOptions {
  /**
   * `thread` (the default): this process runs the machine's checkpointer (see
   * SqliteCheckpointer). `backstop`: another process of the machine does (the
   * leader worker); this one only checkpoints past BACKSTOP_AUTOCHECKPOINT pages.
   */
  checkpoints?: 'thread' | 'backstop';
}

/** A write started inside a transaction's function, apart from it (see `Database.transaction`). */
export class NestedTransaction extends Error {
  constructor() {
    super('a transaction or executeAll inside a transaction: pass its manager to the write (Database.write(within, …))');
  }
}

/** Statement texts remembered (prepared on SQLite, named on PostgreSQL); beyond this many the memory starts over. */
const STATEMENT_CACHE = 256;

/**
 * The application's handle on its database: the TypeORM DataSource plus the
 * few behaviours that must be the same on both engines.
 */
export class Database {
  readonly engine: Engine;
  /** better-sqlite3 has one connection: concurrent transactions would interleave on it. */
  private readonly writeQueue = new Mutex();
  private readonly sqliteStatements = new Map<string, SqliteStatement>();
  private readonly sqliteValueStatements = new Map<string, SqliteStatement>();
  private readonly postgresNames = new Map<string, string>();
  private readonly selections = new Map<string, EntityColumns<unknown>>();
  private checkpointer?: SqliteCheckpointer;
  /**
   * Set while a `transaction`'s function runs (and in what it starts): see `transaction`. Under jest only
   * (NODE_ENV=test): an AsyncLocalStorage in use costs every async resource of every request (about 65 ns each
   * here; a note read makes 89, about 5% of its CPU), so in production a nested write is left to the tests to catch.
   */
  private readonly transactionScope = process.env.NODE_ENV === 'test' ? new AsyncLocalStorage<true>() : undefined;
  /** SQLite: `executeAll`'s writes, committed together when they arrive together. */
  private readonly sqliteWrites?: GroupCommit;

  constructor(
    readonly dataSource: DataSource,
    private readonly options: DatabaseOptions = {},
  ) {
    this.engine = dataSource.options.type === 'postgres' ? 'postgres' : 'sqlite';
    if (this.engine === 'sqlite') {
      writeTransactionsBeginImmediate(dataSource);
      this.sqliteWrites = new GroupCommit({
        connection: () => this.sqliteConnection(),
        queue: this.writeQueue,
        busyTimeoutMs: this.sqliteFile().timeout,
        run: (sql, params) => {
          const statement = this.sqliteStatement(sql, false);
          if (params.length) statement.run(sqliteParams(params));
          else statement.run();
        },
        failed: (error, sql) => void this.dataSource.logger.logQueryError(error as Error, sql),
      });
    }
  }

  get manager(): EntityManager {
    return this.dataSource.manager;
  }

  /**
   * Runs fn in one transaction; on SQLite, transactions of this process run one after another. A transaction (or an
   * `executeAll`) started inside another is a bug: on SQLite it would wait for the outer one forever, on PostgreSQL
   * it would run apart from it and could wait on the outer one's locks; pass the manager instead (`write(within,
   * …)`). Under the tests it is refused at once (NestedTransaction).
   */
  transaction<T>(fn: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (this.transactionScope?.getStore()) return Promise.reject(new NestedTransaction());
    const scope = this.transactionScope;
    const run = () => this.dataSource.transaction((m) => (scope ? scope.run(true, () => fn(m)) : fn(m)));
    return this.engine === 'sqlite' ? this.writeQueue.run(run) : run();
  }

  /**
   * A repository's write: in the caller's transaction when it passes one (`within`, a manager of `transaction`),
   * so that several repositories' writes are kept together; else in a transaction of its own.
   */
  write<T>(within: EntityManager | undefined, fn: (manager: EntityManager) => Promise<T>): Promise<T> {
    return within ? fn(within) : this.transaction(fn);
  }

  /**
   * One read statement, written once for both engines with `$1`…`$n`
   * parameters, prepared once and reused: the hot paths' way around query
   * building, which costs more than the query itself on small reads. On
   * SQLite `$n` is a named parameter; on PostgreSQL a named prepared statement.
   * Keep the text constant (no values spliced in): lists go in as one JSON
   * parameter through `jsonList`.
   */
  select<T = Record<string, unknown>>(sql: string, params: readonly SqlParam[] = []): Promise<T[]> {
    return this.logged(sql, () => this.prepared<T>(sql, params));
  }

  /**
   * `select` answering each row as an array of its columns in the statement's
   * order, with no object per row: the hot reads of many columns (note pages,
   * sign-in look-ups) read them with `columns(…).read`. `planEach`: on
   * PostgreSQL an unnamed statement, planned for its values at every call (a
   * named one soon settles on one generic plan for all values), for a
   * statement whose best plan depends on them; SQLite prepares it as any other.
   */
  selectValues(sql: string, params: readonly SqlParam[] = [], options: { planEach?: boolean } = {}): Promise<unknown[][]> {
    return this.logged(sql, () => this.prepared<unknown[]>(sql, params, true, options.planEach));
  }

  /** One writing statement, atomic by itself: `executeAll` of one. */
  async execute(sql: string, params: readonly SqlParam[] = []): Promise<void> {
    await this.executeAll([{ sql, params }]);
  }

  /**
   * Writing statements in order, each seeing the ones before, all of them or (on an error) none; written with
   * `$1`…`$n` on both engines and prepared once, as `select`'s are. PostgreSQL: one statement runs outside any
   * transaction (one round trip; a function call may do several statements' work), several in a transaction.
   * SQLite: in the next of this process's group commits (see GroupCommit), which takes the write lock first
   * (`beginImmediate`: another worker's commit is waited for without stopping the event loop) and then runs its
   * statements and commits at once, nothing else in between.
   */
  async executeAll(statements: readonly WriteStatement[]): Promise<void> {
    if (statements.length === 0) return;
    if (this.transactionScope?.getStore()) throw new NestedTransaction();
    if (this.sqliteWrites) return this.sqliteWrites.write(statements);
    if (statements.length === 1) {
      const [{ sql, params = [] }] = statements;
      return void (await this.logged(sql, () => this.prepared(sql, params)));
    }
    // Several (an import): a TypeORM transaction, whose query runner logs a failing statement and looks after its
    // pooled connection (a connection lost mid-way is an error of the write, not of the process).
    await this.dataSource.transaction(async (m) => {
      for (const { sql, params = [] } of statements) await m.query(sql, [...params]);
    });
  }

  /** A statement's failure is logged (and counted in `queryErrors`) as TypeORM's own are, then passed on. */
  private async logged<T>(sql: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      this.dataSource.logger.logQueryError(error as Error, sql);
      throw error;
    }
  }

  /**
   * Stops what this handle started beside the DataSource (the SQLite
   * checkpoint thread). Nest calls it at shutdown before any module's
   * onApplicationShutdown, so before TypeORM closes the main connection: that
   * close checkpoints the WAL into the database file only when it is the
   * last connection.
   */
  async beforeApplicationShutdown(): Promise<void> {
    await this.checkpointer?.close();
  }

  /** SQLite: WAL checkpoints move to a thread of their own once the application is up (see SqliteCheckpointer). */
  onApplicationBootstrap(): void {
    if (this.engine !== 'sqlite' || this.checkpointer) return;
    if (this.options.checkpoints === 'backstop') {
      this.sqliteConnection().pragma(`wal_autocheckpoint = ${BACKSTOP_AUTOCHECKPOINT}`);
      return;
    }
    const logger = new Logger('Database');
    const { database, timeout } = this.sqliteFile();
    this.checkpointer = new SqliteCheckpointer(
      database,
      timeout,
      (pages) => {
        const connection = this.sqliteConnection();
        if (connection.open) connection.pragma(`wal_autocheckpoint = ${pages}`);
      },
      (message) => logger.warn(message),
    );
    this.checkpointer.start();
  }

  /** The SQLite checkpoint thread's last figures (null on PostgreSQL, or before it started). */
  checkpointStats(): CheckpointStats | null {
    return this.checkpointer?.stats ?? null;
  }

  /** The SQLite file and its busy timeout (SQLite's 5 s when the options name none). */
  private sqliteFile(): { database: string; timeout: number } {
    const options = this.dataSource.options as { database: string; timeout?: number };
    return { database: options.database, timeout: options.timeout ?? 5000 };
  }

  private sqliteConnection(): SqliteConnection {
    return (this.dataSource.driver as unknown as { databaseConnection: SqliteConnection }).databaseConnection;
  }

  /** Statements that failed since start-up, on every path (TypeORM's and `select`). */
  get queryErrors(): number {
    return (this.dataSource.logger as Partial<QueryStats>).errors ?? 0;
  }

  /** The PostgreSQL connection pool's figures (null on SQLite: one connection, no pool). */
  poolStats(): { total: number; idle: number; waiting: number } | null {
    if (this.engine !== 'postgres') return null;
    const pool = (this.dataSource.driver as unknown as { master?: { totalCount: number; idleCount: number; waitingCount: number } }).master;
    return pool ? { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount } : null;
  }

  private async prepared<T>(sql: string, params: readonly SqlParam[], asValues = false, planEach = false): Promise<T[]> {
    if (this.engine === 'sqlite') {
      const statement = this.sqliteStatement(sql, asValues);
      return (params.length ? statement.all(sqliteParams(params)) : statement.all()) as T[];
    }
    const pool = (this.dataSource.driver as unknown as { master: { query(q: object): Promise<{ rows: T[] }> } }).master;
    const name = planEach ? {} : { name: this.statementName(sql) };
    return (await pool.query({ ...name, text: sql, values: params, ...(asValues ? { rowMode: 'array' } : {}) })).rows;
  }

  /**
   * The i-th (1-based) parameter of a statement sent through TypeORM
   * (`manager.query`): `$i` on PostgreSQL, a positional `?` on SQLite (whose
   * values then go once per `?`, in order). `select` takes `$n` on both.
   */
  placeholder(i: number): string {
    return this.engine === 'postgres' ? `$${i}` : '?';
  }

  /** The rows of a JSON array parameter, as a one-column (`value`) table: `x IN (SELECT value FROM ${db.jsonList('$2')})`. */
  jsonList(placeholder: string): string {
    return this.engine === 'sqlite' ? `json_each(${placeholder})` : `json_array_elements_text(${placeholder}::json)`;
  }

  /**
   * The columns of an entity class for a `selectValues` statement, as `alias.column AS "alias.property"`,
   * and the function that turns such a row back into the entity (instants as Dates).
   */
  columns<T>(entity: ObjectType<T>, alias: string): EntityColumns<T> {
    const key = `${entity.name}\n${alias}`;
    let found = this.selections.get(key);
    if (!found) {
      const columns = this.dataSource.getMetadata(entity).columns;
      const fields = columns.map((c) => {
        const transformer = c.transformer as ValueTransformer | undefined;
        return { property: c.propertyName, from: transformer ? (value: unknown): unknown => transformer.from(value) : undefined };
      });
      found = {
        sql: columns.map((c) => `${alias}.${c.databaseName} AS "${alias}.${c.propertyName}"`).join(', '),
        count: fields.length,
        read: (values, offset = 0) => {
          const out: Record<string, unknown> = {};
          for (let i = 0; i < fields.length; i++) {
            const f = fields[i];
            out[f.property] = f.from ? f.from(values[offset + i]) : values[offset + i];
          }
          return out;
        },
      };
      this.selections.set(key, found);
    }
    return found as EntityColumns<T>;
  }

  /** PostgreSQL's name for a prepared statement: derived from its text once, not on every query. */
  private statementName(sql: string): string {
    let name = this.postgresNames.get(sql);
    if (!name) {
      name = `k_${createHash('sha1').update(sql).digest('base64url')}`;
      if (this.postgresNames.size >= STATEMENT_CACHE) this.postgresNames.clear();
      this.postgresNames.set(sql, name);
    }
    return name;
  }

  private sqliteStatement(sql: string, asValues: boolean): SqliteStatement {
    const cache = asValues ? this.sqliteValueStatements : this.sqliteStatements;
    let statement = cache.get(sql);
    if (!statement) {
      statement = this.sqliteConnection().prepare(sql);
      if (asValues) statement.raw(true);
      if (cache.size >= STATEMENT_CACHE) cache.clear();
      cache.set(sql, statement);
    }
    return statement;
  }

  /**
   * SQLite: refreshes the query planner's statistics where they are missing or
   * stale (`PRAGMA optimize`, bounded by `analysis_limit`: ~70 ms at 100,000
   * notes). Without them SQLite guesses, and guessed badly on real data (a
   * 20-note page of search results read through an index of 100,000 rows,
   * 26 ms instead of 0.04). Run at start-up, after migrations, and hourly, as
   * SQLite's documentation advises for long-lived connections. PostgreSQL's
   * autovacuum does the same on its own: nothing to do there.
   */
  async optimize(): Promise<void> {
    if (this.engine !== 'sqlite') return;
    await this.writeQueue.run(async () => {
      await this.dataSource.query('PRAGMA analysis_limit = 400');
      await this.dataSource.query('PRAGMA optimize = 0x10002');
    });
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
      const [row] = await this.dataSource.query<Array<{ server_version: string }>>('SHOW server_version');
      return `PostgreSQL ${row.server_version}`;
    }
    const [row] = await this.dataSource.query<Array<{ version: string }>>('SELECT sqlite_version() AS version');
    return `SQLite ${row.version}`;
  }
}
