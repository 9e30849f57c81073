import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot, tempDir } from '@kiroku/testing';
import { parse } from 'yaml';
import { RULES } from '../src/modules/alerts';
import { describeEachEngine, freshDatabase } from './support/engines';
import { startTestApp, TestApp } from './support/test-app';

const DIR = join(projectRoot(), 'deploy', 'monitoring');
const TOKEN = 'metrics-token-for-promtool-0123456';

/** promtool (Debian: prometheus) checks the files as Prometheus would; in CI its absence is a failure. */
function promtoolMissing(): string | undefined {
  if (spawnSync('promtool', ['--version']).status === 0) return undefined;
  const reason = 'promtool not found (apt-get install prometheus)';
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`CI=true but ${reason}: the monitoring suite cannot be skipped in CI`);
  console.warn(`\n!!! ${reason}: the monitoring suite is SKIPPED !!!\n`);
  return reason;
}
const missing = promtoolMissing();
const promtool = (args: string[], input?: string) => spawnSync('promtool', args, { cwd: DIR, input, encoding: 'utf8' });

(missing ? describe.skip : describe)('deploy/monitoring', () => {
  it('holds valid Prometheus rules whose unit tests pass', () => {
    const check = promtool(['check', 'rules', 'prometheus-rules.yml']);
    expect(check.stdout + check.stderr).toContain('SUCCESS');
    expect(check.status).toBe(0);
    const test = promtool(['test', 'rules', 'prometheus-rules.test.yml']);
    expect(test.stdout + test.stderr).toContain('SUCCESS');
    expect(test.status).toBe(0);
  });

  it('has an equivalent for every built-in rule', () => {
    const file = parse(readFileSync(join(DIR, 'prometheus-rules.yml'), 'utf8')) as { groups: Array<{ rules: Array<{ labels?: Record<string, string> }> }> };
    const covered = new Set(file.groups.flatMap((g) => g.rules.map((r) => r.labels?.kiroku_rule)).filter(Boolean));
    expect([...covered].sort()).toEqual(Object.keys(RULES).sort());
  });
});

describeEachEngine('/metrics as Prometheus reads it', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    if (!missing) t = await startTestApp({ ...(await freshDatabase(engine)), METRICS_TOKEN: TOKEN, LOG_DIR: tempDir() });
  });
  afterAll(() => t?.close());

  (missing ? it.skip : it)('passes `promtool check metrics`, and every series the rules and the dashboard use is there', async () => {
    await fetch(`${t.url}/health/live`);
    const text = await (await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    const check = promtool(['check', 'metrics'], text);
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);

    const present = new Set(
      text
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => l.split(/[{ ]/)[0].replace(/_(bucket|sum|count)$/, '')),
    );
    const exprs = [
      ...readFileSync(join(DIR, 'prometheus-rules.yml'), 'utf8').matchAll(/\b(kiroku_[a-z_]+|process_[a-z_]+|nodejs_[a-z0-9_]+)\b/g),
      ...readFileSync(join(DIR, 'grafana-dashboard.json'), 'utf8').matchAll(/\b(kiroku_[a-z_]+|process_[a-z_]+|nodejs_[a-z0-9_]+)\b/g),
    ].map((m) => m[1].replace(/_(bucket|sum|count)$/, ''));
    // kiroku_rule is a label. Backup and sweep figures exist only once one has run (the rule for "never" is written against their absence).
    const notYet = new Set([
      'kiroku_rule',
      'kiroku_backup_last_success_timestamp_seconds',
      'kiroku_backup_last_verified_timestamp_seconds',
      'kiroku_log_sweeper_files',
      'kiroku_log_sweeper_problems',
    ]);
    if (engine === 'sqlite') notYet.add('kiroku_db_pool_connections');
    expect([...new Set(exprs)].filter((name) => !present.has(name) && !notYet.has(name))).toEqual([]);
  });
});
