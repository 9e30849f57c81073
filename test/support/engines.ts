import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Engine } from '@kiroku/persistence';
import { tempDir } from '@kiroku/testing';

export const ENGINES: Engine[] = ['sqlite', 'postgres'];

export function postgresMissing(): string | undefined {
  return process.env.KIROKU_TEST_PG_MISSING;
}

/**
 * describe() once per engine. Without PostgreSQL binaries (and only outside
 * CI, where global setup already failed) the PostgreSQL half is skipped, loudly.
 */
export function describeEachEngine(title: string, fn: (engine: Engine) => void): void {
  for (const engine of ENGINES) {
    const missing = engine === 'postgres' ? postgresMissing() : undefined;
    if (missing) {
      describe.skip(`${title} [postgres: SKIPPED, ${missing}]`, () => fn(engine));
      console.warn(`SKIPPED on PostgreSQL: ${title} (${missing})`);
    } else {
      describe(`${title} [${engine}]`, () => fn(engine));
    }
  }
}

/** The running test cluster's admin URL. */
export function postgresAdminUrl(): string {
  const url = process.env.KIROKU_TEST_PG_URL;
  if (!url) throw new Error('the test PostgreSQL server is not running (jest global setup starts it)');
  return url;
}

/** Settings for a new, empty database of the engine: a SQLite file in a temp folder or a new PostgreSQL database. */
export async function freshDatabase(engine: Engine): Promise<Record<string, string>> {
  if (engine === 'sqlite') return { DATABASE_PATH: join(tempDir(), 'kiroku.sqlite') };
  const { Client } = await import('pg');
  const name = `kiroku_${randomBytes(6).toString('hex')}`;
  const client = new Client({ connectionString: postgresAdminUrl() });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(postgresAdminUrl());
  url.pathname = `/${name}`;
  return { DATABASE_URL: url.toString() };
}
