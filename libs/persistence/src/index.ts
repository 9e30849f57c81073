export { InstantColumn, bigintNumber, epochMs } from './columns';
export { buildDataSourceOptions, createDataSource, prepareSqliteFile, MIGRATIONS_TABLE, type Engine, type SchemaDefinition } from './data-source.factory';
export { Database, type SqlParam } from './database';
export { LeaseService, type Lease } from './lease.service';
export { Migrator, schemaDrift, type MigrationState } from './migrator';
export { SnakeNamingStrategy } from './naming.strategy';
export { PersistenceModule, INSTANCE_ID, type PersistenceModuleOptions } from './persistence.module';
export { SqliteFileLock } from './sqlite-file-lock';
export { TaskLease } from './task-lease.entity';
