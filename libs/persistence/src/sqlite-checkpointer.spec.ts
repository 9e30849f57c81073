import { copyFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { tempDir } from '@kiroku/testing';
import { beginImmediate } from './sqlite-begin';
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

  /**
   * The rows the database file holds on its own: a copy without its WAL sees only what was checkpointed. A copy
   * taken while a checkpoint writes into the file can be torn (read as malformed): see `rowsWhenCopiedWhole`.
   */
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

  /** rowsInDatabaseFile while the thread may be checkpointing: a torn copy counts as not there yet (-1). */
  const rowsWhenCopiedWhole = () => {
    try {
      return rowsInDatabaseFile().n;
    } catch (error) {
      if (/SQLITE_CORRUPT|SQLITE_NOTADB/.test(String((error as { code?: unknown }).code))) return -1;
      throw error;
    }
  };

  it('copies what the application commits into the database file, while the application connection only keeps a backstop', async () => {
    const insert = db.prepare('INSERT INTO t (body) VALUES (?)');
    // ~300 WAL pages, below SQLite's own 1,000: the application's connection did not checkpoint them.
    for (let i = 0; i < 300; i++) db.transaction(() => insert.run('x'.repeat(2000)))();
    expect(rowsInDatabaseFile()).toEqual({ n: 0 });

    checkpointer = new SqliteCheckpointer(file, 1000, setAutocheckpoint, (m) => warnings.push(m), { intervalMs: 50 });
    checkpointer.start();
    expect(autocheckpoint()).toBe(BACKSTOP_AUTOCHECKPOINT);

    await until(() => checkpointer!.stats.runs > 0 && checkpointer!.stats.lagPages === 0 && checkpointer!.stats.walPages > 100);
    expect(warnings).toEqual([]);

    await checkpointer.close();
    expect(checkpointer.running).toBe(false);
    expect(autocheckpoint()).toBe(SQLITE_DEFAULT_AUTOCHECKPOINT);
    expect(rowsInDatabaseFile()).toEqual({ n: 300 });
  });

  /** WAL frames (a page and its 24-byte header) the WAL file has room for. */
  const walFrames = () => Math.floor(Math.max(0, statSync(`${file}-wal`).size - 32) / (4096 + 24));
  const body = 'x'.repeat(6000);

  /**
   * Writes as the application does (BEGIN IMMEDIATE, waiting on a timer when the lock is taken), a millisecond
   * apart (a fast disk would otherwise fill the WAL faster than any thread's round), until `rows` are written;
   * the WAL file's largest size meanwhile.
   */
  async function writeSteadily(rows: number): Promise<{ walFramesMax: number }> {
    const insert = db.prepare('INSERT INTO t (body) VALUES (?)');
    let walFramesMax = 0;
    for (let i = 0; i < rows; i++) {
      await beginImmediate(db, 5000);
      insert.run(body);
      db.exec('COMMIT');
      walFramesMax = Math.max(walFramesMax, walFrames());
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    return { walFramesMax };
  }

  it('starts the WAL over under a steady stream of writes, so that the application’s connection never has to', async () => {
    checkpointer = new SqliteCheckpointer(file, 1000, setAutocheckpoint, (m) => warnings.push(m), { intervalMs: 20, restartPages: 200 });
    checkpointer.start();

    // About 3,000 pages: fifteen times the thread's threshold, far below the connection's backstop.
    const { walFramesMax } = await writeSteadily(1500);

    expect(checkpointer.stats.restarts).toBeGreaterThan(0);
    // The WAL started over near 200 pages each time instead of growing towards the backstop (16,384).
    expect(walFramesMax).toBeLessThan(1500);
    await until(() => checkpointer!.stats.lagPages === 0 && rowsWhenCopiedWhole() === 1500);
    expect(warnings).toEqual([]);
    // Nothing checkpoints any more: the file copies whole.
    await checkpointer.close();
    expect(rowsInDatabaseFile()).toEqual({ n: 1500 });
  });

  it('puts the restart off while a reader stays in the WAL, and loses no write to it', async () => {
    checkpointer = new SqliteCheckpointer(file, 1000, setAutocheckpoint, (m) => warnings.push(m), { intervalMs: 20, restartPages: 200 });
    checkpointer.start();
    await writeSteadily(10);
    // A reader that keeps its snapshot (as a long export would): the WAL cannot start over under it.
    const reader = new BetterSqlite3(file, { readonly: true });
    const count = reader.prepare('SELECT count(*) AS n FROM t');
    reader.exec('BEGIN');
    expect(count.get()).toEqual({ n: 10 });

    await writeSteadily(600);
    expect(checkpointer.stats.restarts).toBe(0);
    expect(count.get()).toEqual({ n: 10 });
    reader.exec('COMMIT');
    reader.close();

    // Once it is gone, the WAL starts over (the thread catches up, or restarts it after its back-off).
    expect(checkpointer.stats.walPages).toBeGreaterThan(1000);
    const insert = db.prepare('INSERT INTO t (body) VALUES (?)');
    await until(() => {
      insert.run(body);
      return checkpointer!.stats.walPages < 100;
    });
    expect((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n).toBeGreaterThan(610);
    expect(warnings).toEqual([]);
  });

  it('gives the connection SQLite’s own checkpoints back, with a warning, when its thread cannot run', async () => {
    checkpointer = new SqliteCheckpointer(join(dir, 'missing.sqlite'), 1000, setAutocheckpoint, (m) => warnings.push(m), { intervalMs: 50 });
    checkpointer.start();
    await until(() => !checkpointer!.running);
    expect(autocheckpoint()).toBe(SQLITE_DEFAULT_AUTOCHECKPOINT);
    expect(warnings).toEqual([expect.stringMatching(/checkpoint thread stopped .*checkpoints on its own until it is started again in a minute/)]);
  });
});
