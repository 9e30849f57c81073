import { DatabaseConfig, prepareSqliteFile } from '@kiroku/config';
import { DataSource, DataSourceOptions, MixedList } from 'typeorm';
import { QueryStats } from './query-stats';
import { SnakeNamingStrategy } from './naming.strategy';
import { WAL_SIZE_LIMIT_BYTES } from './sqlite-checkpointer';

export type Engine = 'sqlite' | 'postgres';

/** What the application contributes: its entities and each engine's migrations, listed explicitly. */
export interface SchemaDefinition {
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- TypeORM types entity classes as Function
  entities: MixedList<Function>;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- TypeORM types migration classes as Function
  migrations: Record<Engine, Function[]>;
}

export const MIGRATIONS_TABLE = 'schema_migrations';

/** SQLite's page cache: 64 MiB, filled only as pages are read. */
const SQLITE_CACHE_KIB = 64 * 1024;

export function buildDataSourceOptions(config: DatabaseConfig, schema: SchemaDefinition, applicationName = 'kiroku'): DataSourceOptions {
  const common = {
    entities: schema.entities,
    migrations: schema.migrations[config.engine],
    migrationsTableName: MIGRATIONS_TABLE,
    migrationsRun: false,
    synchronize: false,
    namingStrategy: new SnakeNamingStrategy(),
    logging: false,
    logger: new QueryStats(),
  } as const;
  if (config.engine === 'postgres') {
    return {
      ...common,
      type: 'postgres',
      url: config.url,
      applicationName,
      poolSize: config.poolSize,
      connectTimeoutMS: 5000,
      extra: {
        statement_timeout: config.statementTimeoutMs,
        // Do not let a broken connection wait for TCP's own, much longer timeout.
        idleTimeoutMillis: 30_000,
        keepAlive: true,
      },
    };
  }
  const busyTimeoutMs = config.busyTimeoutMs;
  return {
    ...common,
    type: 'better-sqlite3',
    database: prepareSqliteFile(config.path),
    enableWAL: true,
    timeout: busyTimeoutMs,
    prepareDatabase: (db: { pragma(sql: string): unknown }) => {
      db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      // NORMAL is durable in WAL mode against application crashes; only an OS crash may lose the last commits.
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      // SQLite's default page cache is 2 MiB: at 100,000 notes nearly every read went to the OS for its pages.
      db.pragma(`cache_size = -${SQLITE_CACHE_KIB}`);
      // When the WAL starts over, a file grown past what the checkpointer lets it reach (a long reader held it)
      // is cut back to this instead of keeping its largest size on disk (see WAL_SIZE_LIMIT_BYTES).
      db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
    },
  };
}

export function createDataSource(config: DatabaseConfig, schema: SchemaDefinition, applicationName?: string): DataSource {
  return new DataSource(buildDataSourceOptions(config, schema, applicationName));
}
