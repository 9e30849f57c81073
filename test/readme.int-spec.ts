import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { allSettings } from '@kiroku/config';
import { projectRoot } from '@kiroku/testing';

describe('README', () => {
  const readme = readFileSync(join(projectRoot(), 'README.md'), 'utf8');

  it('documents every setting in the configuration table', () => {
    const missing = allSettings().filter((s) => !readme.includes(`| \`${s.name}\` |`)).map((s) => s.name);
    expect(missing).toEqual([]);
  });

  it('documents every `kiroku check` finding id', async () => {
    const source = readFileSync(join(projectRoot(), 'libs/config/src/checks.ts'), 'utf8');
    const ids = [...source.matchAll(/add\('([a-z-]+)'/g)].map((m) => m[1]);
    expect(ids.length).toBeGreaterThan(5);
    expect(ids.filter((id) => !readme.includes(`| \`${id}\` |`))).toEqual([]);
  });
});
