import { SchemaDefinition, TaskLease } from '@kiroku/persistence';
import { postgresMigrations } from '../migrations/postgres';
import { sqliteMigrations } from '../migrations/sqlite';
import { Instance } from './modules/cluster/instance.entity';

/** Every entity and every migration, listed explicitly: nothing is picked up by a glob. */
export const SCHEMA: SchemaDefinition = {
  entities: [TaskLease, Instance],
  migrations: { sqlite: sqliteMigrations, postgres: postgresMigrations },
};
