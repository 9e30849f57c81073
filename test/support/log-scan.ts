import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Every log line written during the test run (in-process apps and spawned
 * servers) is kept in KIROKU_TEST_LOG_DIR; at the end of the run the global
 * teardown scans all of it for secrets and fails the run if one is there.
 */
export function recordLogLines(text: string): void {
  const dir = process.env.KIROKU_TEST_LOG_DIR;
  if (dir && text) appendFileSync(join(dir, `${process.pid}.jsonl`), text.endsWith('\n') ? text : `${text}\n`);
}

/** What a log must never contain: the passwords the tests use, tokens, password hashes, session cookies, 256-bit hashes. */
const SECRETS: Array<[string, RegExp]> = [
  ['a test password', /a long enough passphrase|brand new passphrase|correct horse battery staple|another long passphrase/],
  ['a personal access token', /krk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}/],
  ['a password hash', /\$argon2id\$/],
  ['a session cookie', /kiroku_sid=[A-Za-z0-9_-]{20,}/],
  ['a SHA-256 value (session id or token hash)', /(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])/],
  ['an age secret key', /AGE-SECRET-KEY-1/],
];

/** Findings (empty: clean) and how many lines were read. */
export function scanLogs(dir: string): { findings: string[]; lines: number } {
  const findings: string[] = [];
  let lines = 0;
  for (const file of readdirSync(dir)) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (!line) continue;
      lines++;
      for (const [what, pattern] of SECRETS) if (pattern.test(line)) findings.push(`${what} in: ${line.slice(0, 300)}`);
    }
  }
  return { findings, lines };
}
