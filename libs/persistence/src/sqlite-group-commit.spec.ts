import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { tempDir } from '@kiroku/testing';
import { Mutex } from './mutex';
import type { SqlParam } from './sql-param';
import { GroupCommit } from './sqlite-group-commit';

/** A worker's connection (the group commit's) and another worker's, on one SQLite file. */
describe('GroupCommit', () => {
  let other: BetterSqlite3.Database;
  let mine: BetterSqlite3.Database;
  /** The transaction statements the group commit ran on its connection, in order. */
  let transactions: string[];
  let failures: string[];
  let rollbackFails: boolean;
  let writes: GroupCommit;
  const make = (busyTimeoutMs = 5000) =>
    new GroupCommit({
      connection: () => ({
        get inTransaction() {
          return mine.inTransaction;
        },
        exec: (sql: string) => {
          transactions.push(sql);
          if (sql === 'ROLLBACK' && rollbackFails) throw new Error('disk I/O error');
          return mine.exec(sql);
        },
        pragma: (sql: string) => mine.pragma(sql),
      }),
      queue: new Mutex(),
      busyTimeoutMs,
      run: (sql: string, params: readonly SqlParam[]) => mine.prepare(sql).run(Object.fromEntries(params.map((p, i) => [String(i + 1), p]))),
      failed: (_error: unknown, sql: string) => failures.push(sql),
    });
  const insert = (who: string) => ({ sql: 'INSERT INTO t (who) VALUES ($1)', params: [who] });
  const rows = () => other.prepare('SELECT who FROM t ORDER BY id').pluck().all();

  beforeEach(() => {
    const file = join(tempDir(), 'group.sqlite');
    other = new BetterSqlite3(file, { timeout: 5000 });
    other.pragma('journal_mode = WAL');
    other.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT UNIQUE)');
    mine = new BetterSqlite3(file, { timeout: 5000 });
    transactions = [];
    failures = [];
    rollbackFails = false;
    writes = make();
  });
  afterEach(() => {
    for (const db of [other, mine]) {
      if (db.inTransaction) db.exec('ROLLBACK');
      db.close();
    }
  });

  it('commits the writes that arrive while it waits for the lock together, in arrival order, each seeing the ones before', async () => {
    other.exec('BEGIN IMMEDIATE');
    const first = writes.write([insert('a')]);
    await new Promise((r) => setTimeout(r, 20));
    // Arrived while the first waits for the other worker's lock.
    const rest = [writes.write([insert('b'), { sql: "INSERT INTO t (who) SELECT 'after ' || count(*) FROM t", params: [] }]), writes.write([insert('c')])];
    expect(rows()).toEqual([]);
    other.exec('COMMIT');
    await Promise.all([first, ...rest]);
    expect(rows()).toEqual(['a', 'b', 'after 2', 'c']);
    expect(transactions.filter((sql) => sql !== 'BEGIN IMMEDIATE')).toEqual(['COMMIT']);
    expect(failures).toEqual([]);
  });

  it('answers a write only once its commit is done', async () => {
    let answered = false;
    const write = writes.write([insert('a')]).then(() => (answered = true));
    expect(answered).toBe(false);
    await write;
    expect(rows()).toEqual(['a']);
  });

  it('fails a write alone: none of its statements are kept, the others of its transaction are', async () => {
    other.exec("INSERT INTO t (who) VALUES ('taken')");
    other.exec('BEGIN IMMEDIATE');
    const results = Promise.allSettled([
      writes.write([insert('a')]),
      // Its first statement succeeds, its second breaks the unique key.
      writes.write([insert('b'), insert('taken')]),
      writes.write([insert('c')]),
    ]);
    await new Promise((r) => setTimeout(r, 10));
    other.exec('COMMIT');
    const [a, b, c] = await results;
    expect([a.status, c.status]).toEqual(['fulfilled', 'fulfilled']);
    expect(b).toMatchObject({ status: 'rejected', reason: { code: 'SQLITE_CONSTRAINT_UNIQUE' } });
    expect(rows()).toEqual(['taken', 'a', 'c']);
    expect(failures).toEqual(['INSERT INTO t (who) VALUES ($1)']);
    expect(mine.inTransaction).toBe(false);
  });

  it('fails every waiting write with SQLITE_BUSY when the lock stays taken past the busy timeout, and writes again once it is free', async () => {
    writes = make(100);
    other.exec('BEGIN IMMEDIATE');
    const results = await Promise.allSettled([writes.write([insert('a')]), writes.write([insert('b')])]);
    expect(results.map((r) => (r.status === 'rejected' ? (r.reason as { code: string }).code : r.status))).toEqual(['SQLITE_BUSY', 'SQLITE_BUSY']);
    expect(failures).toEqual(['BEGIN IMMEDIATE']);
    other.exec('COMMIT');
    await writes.write([insert('c')]);
    expect(rows()).toEqual(['c']);
  });

  it('gives each write its own busy timeout: one that came later waits on after the first has failed', async () => {
    writes = make(300);
    other.exec('BEGIN IMMEDIATE');
    const first = writes.write([insert('first')]);
    await new Promise((r) => setTimeout(r, 200));
    const later = writes.write([insert('later')]);
    await expect(first).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
    other.exec('COMMIT');
    await later;
    expect(rows()).toEqual(['later']);
  });

  it('commits a write of many statements (an import) in a transaction of its own', async () => {
    other.exec('BEGIN IMMEDIATE');
    const many = Array.from({ length: 600 }, (_, i) => insert(`import ${i}`));
    const all = Promise.all([writes.write([insert('before')]), writes.write(many), writes.write([insert('after')])]);
    await new Promise((r) => setTimeout(r, 10));
    other.exec('COMMIT');
    await all;
    expect(rows()).toEqual(['before', ...many.map((s) => s.params[0]), 'after']);
    expect(transactions.filter((sql) => sql === 'COMMIT')).toHaveLength(3);
  });

  it('answers every write when even rolling back fails: none is left waiting', async () => {
    rollbackFails = true;
    other.exec('BEGIN IMMEDIATE');
    const results = Promise.allSettled([
      writes.write([insert('a')]),
      writes.write([{ sql: 'INSERT INTO nowhere VALUES ($1)', params: [1] }]),
      writes.write([insert('c')]),
    ]);
    await new Promise((r) => setTimeout(r, 10));
    other.exec('COMMIT');
    expect((await results).map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(failures).toContain('ROLLBACK');
  });

  it('keeps writing after a write failed', async () => {
    await expect(writes.write([{ sql: 'INSERT INTO nowhere VALUES ($1)', params: [1] }])).rejects.toMatchObject({ message: expect.stringMatching(/nowhere/) });
    await writes.write([insert('a')]);
    expect(rows()).toEqual(['a']);
  });
});
