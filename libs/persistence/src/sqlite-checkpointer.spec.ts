import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { tempDir } from '@kiroku/testing';
import { BACKSTOP_AUTOCHECKPOINT, SQLITE_DEFAULT_AUTOCHECKPOINT, SqliteCheckpointer } from './sqlite-checkpointer';

async function until(condition: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('SqliteCheckpointer', () => {
  let dir: string;
  let file: string;
  let db: BetterSqlite3.Database;
  let checkpointer: SqliteCheckpointer | undefined;
  const warnings: string[] = [];
  const autocheckpoint = () => db.pragma('wal_autocheckpoint', { simple: true });
  const setAutocheckpoint = (pages: number) => void db.pragma(`wal_autocheckpoint = ${pages}`);

  beforeEach(() => {
    dir = tempDir();
    file = join(dir, 'app.sqlite');
    db = new BetterSqlite3(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)');
    db.pragma('wal_checkpoint(TRUNCATE)');
    warnings.length = 0;
  });
  afterEach(async () => {
    await checkpointer?.close();
    db.close();
  });

  /** The rows the database file holds on its own: a copy without its WAL sees only what was checkpointed. */
  const rowsInDatabaseFile = () => {
    const copy = join(dir, `copy-${Date.now()}.sqlite`);
    copyFileSync(file, copy);
    const reader = new BetterSqlite3(copy, { readonly: true });
    try {
      return reader.prepare('SELECT count(*) AS n FROM t').get() as { n: number };
    } finally {
      reader.close();
    }
  };

  it('copies what the application commits into the database file, while the application connection only keeps a backstop', async () => {
    const insert = db.prepare('INSERT INTO t (body) VALUES (?)');
    // ~300 WAL pages, below SQLite's own 1,000: the application's connection did not checkpoint them.
    for (let i = 0; i < 300; i++) db.transaction(() => insert.run('x'.repeat(2000)))();
    expect(rowsInDatabaseFile()).toEqual({ n: 0 });

    checkpointer = new SqliteCheckpointer(file, 1000, setAutocheckpoint, (m) => warnings.push(m), 50);
    checkpointer.start();
    expect(autocheckpoint()).toBe(BACKSTOP_AUTOCHECKPOINT);

    await until(() => checkpointer!.stats.runs > 0 && checkpointer!.stats.lagPages === 0 && checkpointer!.stats.walPages > 100);
    expect(rowsInDatabaseFile()).toEqual({ n: 300 });
    expect(warnings).toEqual([]);

    await checkpointer.close();
    expect(checkpointer.running).toBe(false);
    expect(autocheckpoint()).toBe(SQLITE_DEFAULT_AUTOCHECKPOINT);
  });

  it('gives the connection SQLite’s own checkpoints back, with a warning, when its thread cannot run', async () => {
    checkpointer = new SqliteCheckpointer(join(dir, 'missing.sqlite'), 1000, setAutocheckpoint, (m) => warnings.push(m), 50);
    checkpointer.start();
    await until(() => !checkpointer!.running);
    expect(autocheckpoint()).toBe(SQLITE_DEFAULT_AUTOCHECKPOINT);
    expect(warnings).toEqual([expect.stringMatching(/checkpoint thread stopped .*checkpoints on its own until it is started again in a minute/)]);
  });
});
