import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findPostgresBinDir, startPostgres, PostgresCluster } from '../../libs/testing/src';

declare global {
  var __KIROKU_PG__: PostgresCluster | undefined;
}

/**
 * Starts one PostgreSQL server for the whole run; every suite makes its own
 * database in it. Workers inherit the environment set here.
 */
export default async function globalSetup(): Promise<void> {
  // Every temporary file of the run (databases, backups, logs, PostgreSQL's data folder, those of the
  // servers and CLIs the suites start) goes under one folder, removed at the end: TMPDIR is what
  // os.tmpdir() reads, here, in the workers and in their child processes.
  const runDir = mkdtempSync(join(tmpdir(), 'kiroku-test-run-'));
  chmodSync(runDir, 0o755); // PostgreSQL runs as its own user and must reach its data folder in here
  process.env.TMPDIR = runDir;
  process.env.KIROKU_TEST_RUN_DIR = runDir;
  process.env.KIROKU_TEST_LOG_DIR = mkdtempSync(join(tmpdir(), 'kiroku-test-logs-'));
  const ci = process.env.CI === 'true' || process.env.CI === '1';
  if (!findPostgresBinDir()) {
    if (ci) throw new Error('CI=true but the PostgreSQL server binaries are missing: the PostgreSQL suites cannot be skipped in CI');
    process.env.KIROKU_TEST_PG_MISSING = 'PostgreSQL server binaries not found (initdb, pg_ctl)';
    process.stderr.write(`\n\n!!! ${process.env.KIROKU_TEST_PG_MISSING}: every PostgreSQL suite is SKIPPED !!!\n\n`);
    return;
  }
  const cluster = await startPostgres();
  globalThis.__KIROKU_PG__ = cluster;
  process.env.KIROKU_TEST_PG_URL = cluster.url();
  process.env.KIROKU_TEST_PG_PORT = String(cluster.port);
}
