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
