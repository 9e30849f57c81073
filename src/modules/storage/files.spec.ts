import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commitFile } from './files';

describe('commitFile', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'kiroku-files-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('puts the written file under its final name, over what was there, and leaves no partial behind', async () => {
    writeFileSync(join(dir, 'target'), 'old');
    writeFileSync(join(dir, '.partial-x'), 'whole new content');
    await commitFile(join(dir, '.partial-x'), join(dir, 'target'));
    expect(readFileSync(join(dir, 'target'), 'utf8')).toBe('whole new content');
    expect(existsSync(join(dir, '.partial-x'))).toBe(false);
  });

  it('fails without touching the target when the partial file is missing', async () => {
    writeFileSync(join(dir, 'target'), 'old');
    await expect(commitFile(join(dir, 'missing'), join(dir, 'target'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(readFileSync(join(dir, 'target'), 'utf8')).toBe('old');
  });
});
