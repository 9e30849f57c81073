import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { tempDir } from '@kiroku/testing';
import { beginImmediate } from './sqlite-begin';

/** Two connections to one SQLite file, as two workers of a machine have. */
describe('beginImmediate', () => {
  let holder: BetterSqlite3.Database;
  let writer: BetterSqlite3.Database;
  beforeEach(() => {
    const file = join(tempDir(), 'begin.sqlite');
    holder = new BetterSqlite3(file, { timeout: 5000 });
    holder.pragma('journal_mode = WAL');
    holder.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT)');
    writer = new BetterSqlite3(file, { timeout: 5000 });
  });
  afterEach(() => {
    for (const db of [holder, writer]) {
      if (db.inTransaction) db.exec('ROLLBACK');
      db.close();
    }
  });

  it('waits for the write lock another connection holds without stopping the event loop, then writes', async () => {
    holder.exec('BEGIN IMMEDIATE');
    holder.exec("INSERT INTO t (who) VALUES ('holder')");
    const events: string[] = [];
    const begun = beginImmediate(writer, 5000).then(() => events.push('writer has the lock'));
    // Timers run while the writer waits: with busy_timeout inside the call, this process would stand still.
    await new Promise((r) => setTimeout(r, 40));
    events.push('a timer ran');
    expect(writer.inTransaction).toBe(false);
    holder.exec('COMMIT');
    await begun;
    expect(events).toEqual(['a timer ran', 'writer has the lock']);
    writer.exec("INSERT INTO t (who) VALUES ('writer')");
    writer.exec('COMMIT');
    expect(holder.prepare('SELECT who FROM t ORDER BY id').pluck().all()).toEqual(['holder', 'writer']);
    // The connection's own busy_timeout is back for everything else it runs.
    expect(writer.pragma('busy_timeout', { simple: true })).toBe(5000);
  });

  it('tries again when the other connection commits, not only when its timer runs out', async () => {
    holder.exec('BEGIN IMMEDIATE');
    holder.exec("INSERT INTO t (who) VALUES ('holder')");
    // A timer of a minute: only the commit, written to the write-ahead log, can wake the writer in time.
    const begun = beginImmediate(writer, 120_000, { retryMs: 60_000 }).then(() => 'woken by the commit');
    await new Promise((r) => setTimeout(r, 50));
    expect(writer.inTransaction).toBe(false);
    holder.exec('COMMIT');
    const timeout = new Promise<string>((r) => setTimeout(() => r('still waiting'), 3000).unref());
    expect(await Promise.race([begun, timeout])).toBe('woken by the commit');
    expect(writer.inTransaction).toBe(true);
  });

  it('gives up with SQLITE_BUSY once the busy timeout has passed, outside any transaction', async () => {
    holder.exec('BEGIN IMMEDIATE');
    const started = Date.now();
    await expect(beginImmediate(writer, 150)).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(writer.inTransaction).toBe(false);
  });

  it('throws any other error at once', async () => {
    writer.exec('BEGIN');
    const started = Date.now();
    // toMatchObject, not toThrow: better-sqlite3's addon makes its errors with the SqliteError of the first test
    // file that loaded it in this jest worker, another realm's Error as far as toThrow can tell.
    await expect(beginImmediate(writer, 5000)).rejects.toMatchObject({ message: expect.stringMatching(/within a transaction/) });
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
