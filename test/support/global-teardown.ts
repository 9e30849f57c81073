import { rmSync } from 'node:fs';
import { scanLogs } from './log-scan';

/** Stops the PostgreSQL server, then scans every log line of the run for secrets: one found fails the run. */
export default async function globalTeardown(): Promise<void> {
  await globalThis.__KIROKU_PG__?.destroy();
  const dir = process.env.KIROKU_TEST_LOG_DIR;
  if (!dir) return;
  const { findings, lines } = scanLogs(dir);
  rmSync(dir, { recursive: true, force: true });
  if (findings.length) {
    process.stderr.write(`\n\n!!! SECRETS IN THE LOGS of this test run (${findings.length}):\n${findings.slice(0, 20).join('\n')}\n\n`);
    throw new Error(`${findings.length} secret(s) found in the logs written during the test run`);
  }
  process.stderr.write(`log secret scan: no password, token, cookie, hash or key in the ${lines} log lines of this run\n`);
}
