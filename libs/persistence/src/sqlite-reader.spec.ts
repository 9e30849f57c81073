import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { tempDir } from '@kiroku/testing';
import { SqliteReader } from './sqlite-reader';

describe('SqliteReader', () => {
  let file: string;
  let reader: SqliteReader;
  beforeEach(() => {
    file = join(tempDir(), 'reader.sqlite');
    const db = new BetterSqlite3(file);
    db.pragma('journal_mode = WAL');
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t (name) VALUES ('a'), ('b')");
    db.close();
    reader = new SqliteReader(file, 1000, 256);
  });
  afterEach(() => reader.close());

  it('answers with named $n parameters, and reports a bad statement with its SQLite code', async () => {
    expect(await reader.all('SELECT name FROM t WHERE id >= $1 ORDER BY id', { 1: 2 })).toEqual([{ name: 'b' }]);
    await expect(reader.all('SELECT nope FROM t', {})).rejects.toMatchObject({ code: 'SQLITE_ERROR', message: expect.stringMatching(/nope/) });
  });

  it('answers a call made while the previous thread is being stopped, on a new thread', async () => {
    expect(await reader.all('SELECT count(*) AS n FROM t', {})).toEqual([{ n: 2 }]);
    const stopping = reader.close();
    expect(await reader.all('SELECT count(*) AS n FROM t', {})).toEqual([{ n: 2 }]);
    await stopping;
  });

  it('keeps one thread for one call at a time, and starts more only while all are busy, up to its limit', async () => {
    const pool = new SqliteReader(file, 1000, 256, 2);
    try {
      for (let i = 0; i < 3; i++) expect(await pool.all('SELECT count(*) AS n FROM t', {})).toEqual([{ n: 2 }]);
      expect(pool.size).toBe(1);
      const slow = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) SELECT count(*) AS n FROM c';
      const answers = await Promise.all([pool.all(slow, {}), pool.all(slow, {}), pool.all(slow, {}), pool.all('SELECT name FROM t WHERE id = $1', { 1: 1 })]);
      expect(answers).toEqual([[{ n: 300000 }], [{ n: 300000 }], [{ n: 300000 }], [{ name: 'a' }]]);
      expect(pool.size).toBe(2);
    } finally {
      await pool.close();
    }
    expect(pool.size).toBe(0);
  });

  (process.platform === 'linux' ? it : it.skip)('runs its threads below the event loop: nice 10 on Linux', async () => {
    const niceThreads = () =>
      readdirSync('/proc/self/task').filter((tid) => readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ')[16] === '10').length;
    const before = niceThreads();
    await reader.all('SELECT 1 AS one', {});
    expect(niceThreads()).toBeGreaterThan(before);
  });

  it('rejects the calls a stopped thread still owed', async () => {
    const owed = reader.all('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) SELECT count(*) AS n FROM c', {});
    await reader.close();
    await expect(owed).rejects.toThrow(/reader thread stopped/);
  });
});
