import { rmSync } from 'node:fs';
import { scanLogs } from './log-scan';

/** The run's temporary folder goes, unless KIROKU_KEEP_TEST_FILES=1 asks to keep it for a look. */
function removeRunDir(): void {
  const runDir = process.env.KIROKU_TEST_RUN_DIR;
  if (!runDir) return;
  if (process.env.KIROKU_KEEP_TEST_FILES === '1') {
    process.stderr.write(`test files kept in ${runDir}\n`);
    return;
  }
  try {
    rmSync(runDir, { recursive: true, force: true });
  } catch (error) {
    // A folder still in use (a mount a crashed test left) must not fail a run whose tests passed.
    process.stderr.write(`could not remove every test file under ${runDir}: ${(error as Error).message}\n`);
  }
}

/** Stops the PostgreSQL server, then scans every log line of the run for secrets: one found fails the run. */
export default async function globalTeardown(): Promise<void> {
  await globalThis.__KIROKU_PG__?.destroy();
  const dir = process.env.KIROKU_TEST_LOG_DIR;
  if (!dir) return;
  const { findings, lines } = scanLogs(dir);
  removeRunDir();
  if (findings.length) {
    process.stderr.write(`\n\n!!! SECRETS IN THE LOGS of this test run (${findings.length}):\n${findings.slice(0, 20).join('\n')}\n\n`);
    throw new Error(`${findings.length} secret(s) found in the logs written during the test run`);
  }
  process.stderr.write(`log secret scan: no password, token, cookie, hash or key in the ${lines} log lines of this run\n`);
}
