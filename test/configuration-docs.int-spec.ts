import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { allSettings } from '@kiroku/config';
import { projectRoot } from '@kiroku/testing';

describe('docs/configuration.md', () => {
  const page = readFileSync(join(projectRoot(), 'docs/configuration.md'), 'utf8');

  it('has a row in the settings table for every setting', () => {
    const missing = allSettings()
      .filter((s) => !page.includes(`| \`${s.name}\` |`))
      .map((s) => s.name);
    expect(missing).toEqual([]);
  });

  it('has a row in the findings table for every `kiroku check` finding id', async () => {
    const source = readFileSync(join(projectRoot(), 'libs/config/src/checks.ts'), 'utf8');
    const ids = [...source.matchAll(/add\('([a-z-]+)'/g)].map((m) => m[1]);
    expect(ids.length).toBeGreaterThan(5);
    expect(ids.filter((id) => !page.includes(`| \`${id}\` |`))).toEqual([]);
  });
});
