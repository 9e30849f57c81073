import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '@kiroku/testing';

// scripts/check-branch-model.js as CI runs it on a pull request: SOURCE TARGET, exit 0 or 1 with the reason.
const script = join(projectRoot(), 'scripts/check-branch-model.js');
const run = (...args: string[]) => spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });

describe('branch model check (scripts/check-branch-model.js)', () => {
  it.each([
    ['feature/note-tasks', 'dev'],
    ['dev', 'stg'],
    ['stg', 'main'],
    ['hotfix/login-loop', 'main'],
    ['hotfix/login-loop', 'dev'],
    ['main', 'stg'],
    ['main', 'dev'],
  ])('%s → %s follows the model: exit 0', (source, target) => {
    const out = run(source, target);
    expect(out.stderr).toBe('');
    expect(out.status).toBe(0);
    expect(out.stdout).toContain(`${source} → ${target} follows it`);
  });

  it.each([
    ['feature/note-tasks', 'main', /a feature goes into dev \(allowed: dev\)/],
    ['feature/note-tasks', 'stg', /allowed: dev/],
    ['dev', 'main', /dev is promoted to stg \(allowed: stg\)/],
    ['stg', 'dev', /stg is released to main/],
    ['hotfix/login-loop', 'stg', /allowed: main, dev/],
    ['main', 'feature/x', /allowed: stg, dev/],
    ['bugfix/login', 'dev', /bugfix\/login is not a branch of the model: pull requests come from feature\/<short-name>, dev, stg, hotfix\/<short-name>, main/],
    ['feature', 'dev', /not a branch of the model/],
    ['feature/', 'dev', /the name after feature\/ is lower-case/],
    ['feature/Note Tasks', 'dev', /the name after feature\/ is lower-case/],
  ])('%s → %s breaks it: exit 1 and the reason', (source, target, reason) => {
    const out = run(source, target);
    expect(out.status).toBe(1);
    expect(out.stderr).toMatch(reason);
    expect(out.stderr).toContain('CONTRIBUTING.md');
  });

  it('without both branches: usage, exit 2', () => {
    const out = run('dev');
    expect(out.status).toBe(2);
    expect(out.stderr).toMatch(/^usage: check-branch-model\.js SOURCE_BRANCH TARGET_BRANCH/);
  });
});
