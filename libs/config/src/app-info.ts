import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

function findPackageJson(): { name: string; version: string } {
  let dir = __dirname;
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version: string };
      if (pkg.name === 'kiroku') return { name: pkg.name, version: pkg.version };
    }
    const parent = dirname(dir);
    if (parent === dir) return { name: 'kiroku', version: '0.0.0' };
    dir = parent;
  }
}

export const APP_VERSION = findPackageJson().version;
