import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** The repository root: the folder with Kiroku's package.json. */
export function projectRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'nest-cli.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the project root (nest-cli.json)');
    dir = parent;
  }
  return dir;
}

/**
 * The environment a spawned server or CLI starts from: only PATH and TMPDIR
 * (where the test run keeps its temporary files), so that nothing of the
 * caller's own settings leaks into the child.
 */
export function childEnv(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
    // One process unless a test asks for workers: the suites start dozens of servers on two cores.
    WEB_CONCURRENCY: '1',
  };
}

/** A new empty folder under the system temp dir. */
export function tempDir(prefix = 'kiroku-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** The compiled server entry; process-level tests and benchmarks run it. */
export function builtEntry(name: 'main' | 'cli'): string {
  const file = join(projectRoot(), 'dist', 'src', `${name}.js`);
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first (npm test does)`);
  return file;
}
