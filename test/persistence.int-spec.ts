import { copyFileSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { Client } from 'pg';
import { Database, Migrator, NestedTransaction, schemaDrift, LeaseService, TaskLease } from '@kiroku/persistence';
import { FakeClock } from '@kiroku/clock';
import { Instance } from '../src/modules/cluster';
import { describeEachEngine, freshDatabase } from './support/engines';
import { openFreshDatabase, OpenDatabase } from './support/database';
import { startTestApp, type TestApp } from './support/test-app';
import { Accounts } from '../src/modules/auth';
import { NotesService } from '../src/modules/notes';
import { postgresMigrations } from '../migrations/postgres';
import { sqliteMigrations } from '../migrations/sqlite';
import { NumberSearchEntriesNewestFirst1795950000000 } from '../migrations/sqlite/1795950000000-NumberSearchEntriesNewestFirst';

/** The account whose notes a test writes, made through the application; its id. */
async function createOwner(t: TestApp): Promise<string> {
  const created = await t.app.get(Accounts).create({ email: 'owner@example.com', displayName: 'Owner', password: 'a long enough passphrase' }, 'admin');
  if (!('user' in created)) throw new Error('no user');
  return created.user.id;
}

describe('migration lists', () => {
  it('name the same migrations in the same order on both engines: the last one is the schema version that exports, imports and copies compare', () => {
    const names = (list: Array<new () => { name?: string }>) => list.map((m) => new m().name);
    expect(names(sqliteMigrations)).toEqual(names(postgresMigrations));
  });
});

describeEachEngine('migrations', (engine) => {
  let open: OpenDatabase;
  beforeEach(async () => (open = await openFreshDatabase(engine)));
  afterEach(() => open.close());

  it('apply on an empty database and leave no drift between entities and schema', async () => {
    const migrator = new Migrator(open.db);
    const before = await migrator.status();
    expect(before.length).toBeGreaterThan(0);
    expect(before.every((m) => !m.applied)).toBe(true);

    const applied = await migrator.run();
    expect(applied).toEqual(before.map((m) => m.name));
    expect(await migrator.pending()).toEqual([]);
    expect(await schemaDrift(open.db)).toEqual([]);
    expect(await migrator.run()).toEqual([]);
  });

  it('revert one by one down to nothing, and apply again', async () => {
    const migrator = new Migrator(open.db);
    const all = await migrator.run();
    for (const name of [...all].reverse()) expect(await migrator.revert()).toBe(name);
    expect(await migrator.revert()).toBeNull();
    const runner = open.db.dataSource.createQueryRunner();
    expect(await runner.hasTable('task_leases')).toBe(false);
    await runner.release();
    expect(await migrator.run()).toEqual(all);
    expect(await schemaDrift(open.db)).toEqual([]);
  });

  it('reports drift when the schema and the entities disagree', async () => {
    await new Migrator(open.db).run();
    await open.db.dataSource.query('DROP INDEX "idx_instances_heartbeat_at"');
    expect((await schemaDrift(open.db)).join('\n')).toMatch(/idx_instances_heartbeat_at/);
  });
});

describeEachEngine('leases', (engine) => {
  let open: OpenDatabase;
  let clock: FakeClock;
  const leases = (holder: string) => new LeaseService(open.db, clock, holder);

  beforeEach(async () => {
    open = await openFreshDatabase(engine);
    await new Migrator(open.db).run();
    clock = new FakeClock(Date.UTC(2026, 10, 28, 2, 0));
  });
  afterEach(() => open.close());

  it('gives each (task, slot) to exactly one claimer', async () => {
    const [a, b] = [leases('a'), leases('b')];
    const first = await a.claim('backup-database', '2026-11-28T02:00Z', 60_000);
    expect(first).toMatchObject({ taskId: 'backup-database', slot: '2026-11-28T02:00Z', attempt: 1 });
    expect(await b.claim('backup-database', '2026-11-28T02:00Z', 60_000)).toBeNull();
    expect(await a.claim('backup-database', '2026-11-28T02:00Z', 60_000)).toBeNull();
    expect(await b.claim('backup-database', '2026-11-29T02:00Z', 60_000)).not.toBeNull();
    expect(await b.claim('prune-logs', '2026-11-28T02:00Z', 60_000)).not.toBeNull();
  });

  it('lets concurrent claimers in one process race without two winners', async () => {
    const claimers = Array.from({ length: 8 }, (_, i) => leases(`h${i}`));
    const results = await Promise.all(claimers.map((l) => l.claim('t', 's', 60_000)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('hands an expired, unfinished lease to the next claimer, and stops the old holder from renewing', async () => {
    const [a, b] = [leases('a'), leases('b')];
    const lease = (await a.claim('t', 's', 60_000))!;
    clock.advance(59_999);
    expect(await b.claim('t', 's', 60_000)).toBeNull();
    clock.advance(1);
    const taken = await b.claim('t', 's', 60_000);
    expect(taken).toMatchObject({ attempt: 2 });
    expect(await a.renew(lease, 60_000)).toBe(false);
    expect(await a.complete(lease, 'succeeded')).toBe(false);
    const row = await open.db.manager.findOneByOrFail(TaskLease, { taskId: 't', slot: 's' });
    expect(row).toMatchObject({ holder: 'b', attempts: 2, finishedAt: null });
  });

  it('keeps a renewed lease from being taken over', async () => {
    const [a, b] = [leases('a'), leases('b')];
    const lease = (await a.claim('t', 's', 10_000))!;
    clock.advance(9_000);
    expect(await a.renew(lease, 10_000)).toBe(true);
    clock.advance(9_000);
    expect(await b.claim('t', 's', 10_000)).toBeNull();
    expect(lease.expiresAt.getTime()).toBe(clock.nowMs() + 1_000);
  });

  it('never runs a completed slot again, even after its lease time', async () => {
    const [a, b] = [leases('a'), leases('b')];
    const lease = (await a.claim('t', 's', 10_000))!;
    expect(await a.complete(lease, 'failed')).toBe(true);
    clock.advance(3_600_000);
    expect(await b.claim('t', 's', 10_000)).toBeNull();
    const row = await open.db.manager.findOneByOrFail(TaskLease, { taskId: 't', slot: 's' });
    expect(row.outcome).toBe('failed');
    expect(row.finishedAt).toEqual(new Date(clock.nowMs() - 3_600_000));
  });

  it('releases every held lease at shutdown so another instance can take over at once', async () => {
    const [a, b] = [leases('a'), leases('b')];
    await a.claim('t', 's1', 600_000);
    await a.claim('t', 's2', 600_000);
    expect(a.heldCount()).toBe(2);
    await a.releaseAll();
    expect(a.heldCount()).toBe(0);
    expect(await b.claim('t', 's1', 600_000)).toMatchObject({ attempt: 2 });
    expect(await b.claim('t', 's2', 600_000)).toMatchObject({ attempt: 2 });
  });
});

describeEachEngine('transactions', (engine) => {
  let open: OpenDatabase;
  beforeEach(async () => {
    open = await openFreshDatabase(engine);
    await new Migrator(open.db).run();
  });
  afterEach(() => open.close());

  it('keep concurrent transactions apart: one failing rolls back only its own writes', async () => {
    const row = (id: string) => ({ id, hostname: 'h', pid: 1, version: '0', engine, startedAt: new Date(0), heartbeatAt: new Date(0), stoppedAt: null });
    const slow = open.db.transaction(async (m) => {
      await m.insert('instances', row('kept'));
      await new Promise((r) => setTimeout(r, 30));
    });
    const failing = open.db.transaction(async (m) => {
      await m.insert('instances', row('rolled-back'));
      throw new Error('boom');
    });
    await expect(failing).rejects.toThrow('boom');
    await slow;
    const ids = (await open.db.dataSource.query('SELECT id FROM instances ORDER BY id')).map((r: { id: string }) => r.id);
    expect(ids).toEqual(['kept']);
  });

  it('refuse a write started apart inside a transaction at once, rather than wait for it forever; a write given the manager joins it', async () => {
    const row = (id: string) => ({ id, hostname: 'h', pid: 1, version: '0', engine, startedAt: new Date(0), heartbeatAt: new Date(0), stoppedAt: null });
    const ids = async () => (await open.db.dataSource.query('SELECT id FROM instances ORDER BY id')).map((r: { id: string }) => r.id);
    const nested = open.db.transaction(async (m) => {
      await m.insert('instances', row('outer'));
      await open.db.transaction((inner) => inner.insert('instances', row('inner')));
    });
    await expect(nested).rejects.toThrow(NestedTransaction);
    await expect(
      open.db.transaction(async () => {
        await new Promise((r) => setTimeout(r, 1)); // still inside, a turn later
        await open.db.execute('DELETE FROM instances');
      }),
    ).rejects.toThrow(NestedTransaction);
    expect(await ids()).toEqual([]);
    // Joined through write(within): one transaction, kept whole; after it, transactions open as before.
    await open.db.transaction(async (m) => {
      await m.insert('instances', row('a'));
      await open.db.write(m, (same) => same.insert('instances', row('b')));
    });
    await open.db.write(undefined, (own) => own.insert('instances', row('c')));
    expect(await ids()).toEqual(['a', 'b', 'c']);
  });
});

describeEachEngine('prepared reads (Database.select)', (engine) => {
  let open: OpenDatabase;
  beforeEach(async () => {
    open = await openFreshDatabase(engine);
    await new Migrator(open.db).run();
    const row = (id: string, at: number, stopped: number | null) => ({
      id,
      hostname: `host-${id}`,
      pid: 7,
      version: '1',
      workers: 1,
      engine,
      startedAt: new Date(at),
      heartbeatAt: new Date(at),
      stoppedAt: stopped === null ? null : new Date(stopped),
    });
    await open.db.transaction((m) => m.insert(Instance, [row('a', 1_000, null), row('b', 2_000, 9_000), row("c'; DROP TABLE instances; --", 3_000, null)]));
  });
  afterEach(() => open.close());

  it('binds $n parameters (reused ones too) and reads entities back with instants as Dates', async () => {
    const i = open.db.columns(Instance, 'i');
    const sqlText = `SELECT ${i.sql} FROM instances i WHERE i.started_at >= $1 AND (i.id = $2 OR $2 = 'any') ORDER BY i.started_at`;
    const rows = (await open.db.selectValues(sqlText, [2_000, 'any'])).map((v) => i.read(v));
    expect(rows.map((r) => r.id)).toEqual(['b', "c'; DROP TABLE instances; --"]);
    expect(rows[0]).toEqual({
      id: 'b',
      hostname: 'host-b',
      pid: 7,
      address: '',
      ready: null,
      notReadyReason: null,
      version: '1',
      workers: 1,
      engine,
      startedAt: new Date(2_000),
      heartbeatAt: new Date(2_000),
      stoppedAt: new Date(9_000),
    });
    expect(rows[1].stoppedAt).toBeNull();
    // The same text again is served by the prepared statement, with other values.
    expect((await open.db.selectValues(sqlText, [0, 'a'])).map((v) => i.read(v).id)).toEqual(['a']);
  });

  it('answers rows as arrays (selectValues) that read back into the same entities, two of them side by side', async () => {
    const a = open.db.columns(Instance, 'a');
    const b = open.db.columns(Instance, 'b');
    const sqlText = `SELECT ${a.sql}, ${b.sql}, 42 AS extra FROM instances a INNER JOIN instances b ON b.pid = a.pid AND b.id <> a.id WHERE a.started_at >= $1 ORDER BY a.started_at, b.started_at`;
    const values = await open.db.selectValues(sqlText, [2_000]);
    expect(values.map((v) => [a.read(v).id, b.read(v, a.count).id, Number(v[a.count * 2])])).toEqual([
      ['b', 'a', 42],
      ['b', "c'; DROP TABLE instances; --", 42],
      ["c'; DROP TABLE instances; --", 'a', 42],
      ["c'; DROP TABLE instances; --", 'b', 42],
    ]);
    // The same statement text through select still answers objects: the two forms are prepared apart.
    const objects = await open.db.select<Record<string, unknown>>(sqlText, [2_000]);
    expect(objects.map((row) => [row['a.id'], row['b.id']])).toEqual(values.map((v) => [a.read(v).id, b.read(v, a.count).id]));
    expect(b.read(values[0], a.count)).toEqual({
      id: 'a',
      hostname: 'host-a',
      pid: 7,
      address: '',
      ready: null,
      notReadyReason: null,
      version: '1',
      workers: 1,
      engine,
      startedAt: new Date(1_000),
      heartbeatAt: new Date(1_000),
      stoppedAt: null,
    });
  });

  it('plans a statement at each call with planEach (PostgreSQL: not kept prepared), answering as selectValues does', async () => {
    const i = open.db.columns(Instance, 'i');
    const kept = `SELECT ${i.sql} FROM instances i WHERE i.started_at >= $1 ORDER BY i.started_at`;
    const planned = `SELECT ${i.sql} FROM instances i WHERE i.started_at >= $1 ORDER BY i.started_at DESC`;
    expect((await open.db.selectValues(kept, [2_000])).map((v) => i.read(v).id)).toEqual(['b', "c'; DROP TABLE instances; --"]);
    for (let run = 0; run < 3; run++) {
      expect((await open.db.selectValues(planned, [2_000], { planEach: true })).map((v) => i.read(v).id)).toEqual(["c'; DROP TABLE instances; --", 'b']);
    }
    if (engine === 'postgres') {
      // One request at a time reuses one pooled connection: the kept statement shows that this is its session.
      const prepared = (await open.db.manager.query('SELECT statement FROM pg_prepared_statements')).map((r: { statement: string }) => r.statement);
      expect(prepared).toContain(kept);
      expect(prepared).not.toContain(planned);
    }
  });

  it('passes hostile text only as a value, and a list as one JSON parameter', async () => {
    const sqlText = `SELECT id FROM instances WHERE id IN (SELECT value FROM ${open.db.jsonList('$1')}) ORDER BY id`;
    expect(await open.db.select(sqlText, [JSON.stringify(["c'; DROP TABLE instances; --", 'a', 'zz'])])).toEqual([
      { id: 'a' },
      { id: "c'; DROP TABLE instances; --" },
    ]);
    expect(await open.db.select(sqlText, [JSON.stringify([])])).toEqual([]);
    expect(await open.db.select('SELECT count(*) AS n FROM instances')).toEqual([{ n: engine === 'postgres' ? '3' : 3 }]);
  });

  it('reports a bad statement as a rejected promise', async () => {
    await expect(open.db.select('SELECT nope FROM instances')).rejects.toMatchObject({ message: expect.stringMatching(/nope/) });
  });

  it('runs a prepared write (Database.execute) that commits by itself, its values bound, and a failing one writes nothing', async () => {
    const sqlText = 'UPDATE instances SET hostname = $1, pid = $2 WHERE id = $3';
    await open.db.execute(sqlText, ["x'); DELETE FROM instances; --", 8, 'a']);
    await open.db.execute(sqlText, ['again', 9, 'b']);
    const rows = await open.db.select<{ id: string; hostname: string; pid: number }>('SELECT id, hostname, pid FROM instances ORDER BY id');
    expect(rows.map((r) => [r.id, r.hostname, Number(r.pid)])).toEqual([
      ['a', "x'); DELETE FROM instances; --", 8],
      ['b', 'again', 9],
      ["c'; DROP TABLE instances; --", "host-c'; DROP TABLE instances; --", 7],
    ]);
    // Two rows in one statement, the second breaking a key: neither is written.
    await expect(open.db.execute("UPDATE instances SET id = CASE id WHEN 'a' THEN 'z' ELSE 'z' END WHERE id IN ($1, $2)", ['a', 'b'])).rejects.toMatchObject({
      message: expect.stringMatching(/unique|duplicate|UNIQUE/i),
    });
    expect((await open.db.select<{ id: string }>('SELECT id FROM instances ORDER BY id')).map((r) => r.id)).toEqual(['a', 'b', "c'; DROP TABLE instances; --"]);
  });

  it('keeps a prepared write (executeAll) out of a transaction of the entity manager that is still running', async () => {
    const pid = async (id: string) => Number((await open.db.select<{ pid: number }>('SELECT pid FROM instances WHERE id = $1', [id]))[0].pid);
    let begun!: () => void;
    const running = new Promise<void>((resolve) => (begun = resolve));
    const transaction = open.db.transaction(async (m) => {
      await m.query(`UPDATE instances SET pid = 500 WHERE id = ${open.db.placeholder(1)}`, ['a']);
      begun();
      await new Promise((r) => setTimeout(r, 50));
      throw new Error('the transaction gives up');
    });
    await running;
    // Another request's write, asked for while the transaction runs, with the event loop free: it must wait for the
    // transaction's end.
    const written = open.db.executeAll([{ sql: 'UPDATE instances SET pid = $1 WHERE id = $2', params: [600, 'b'] }]);
    await expect(transaction).rejects.toThrow('the transaction gives up');
    await written;
    // The transaction's write is rolled back, the prepared write is kept: neither was in the other's transaction.
    expect(await pid('a')).not.toBe(500);
    expect(await pid('b')).toBe(600);
  });

  it('runs prepared writes together (Database.executeAll): in order, each seeing the ones before, all of them or none', async () => {
    const pids = async () => (await open.db.select<{ id: string; pid: number }>('SELECT id, pid FROM instances ORDER BY id')).map((r) => [r.id, Number(r.pid)]);
    await open.db.executeAll([
      { sql: 'UPDATE instances SET pid = $1 WHERE id = $2', params: [100, 'a'] },
      { sql: "UPDATE instances SET pid = (SELECT pid + 1 FROM instances WHERE id = 'a') WHERE id = $1", params: ['b'] },
    ]);
    expect((await pids()).slice(0, 2)).toEqual([
      ['a', 100],
      ['b', 101],
    ]);
    // The second breaks the key: the first, already run, is not kept either.
    await expect(
      open.db.executeAll([
        { sql: 'UPDATE instances SET pid = $1 WHERE id = $2', params: [7, 'a'] },
        { sql: 'UPDATE instances SET id = $1 WHERE id = $2', params: ['a', 'b'] },
      ]),
    ).rejects.toMatchObject({ message: expect.stringMatching(/unique|duplicate|UNIQUE/i) });
    expect((await pids()).slice(0, 2)).toEqual([
      ['a', 100],
      ['b', 101],
    ]);
  });
});

describe('SQLite connection settings', () => {
  it('uses WAL, enforces foreign keys and waits on locks', async () => {
    const open = await openFreshDatabase('sqlite', { DATABASE_BUSY_TIMEOUT: '7s' });
    try {
      const q = (sql: string) => open.db.dataSource.query(sql).then((rows: Array<Record<string, unknown>>) => Object.values(rows[0])[0]);
      expect(await q('PRAGMA journal_mode')).toBe('wal');
      expect(await q('PRAGMA foreign_keys')).toBe(1);
      expect(await q('PRAGMA busy_timeout')).toBe(7000);
      // Above the WAL's size when the connection's backstop fires (16,384 frames), so that starting over reuses the file.
      expect(await q('PRAGMA journal_size_limit')).toBe(80 * 1024 * 1024);
    } finally {
      await open.close();
    }
  });

  it('has the search index merge its segments eight at a time, a setting FTS5 keeps in the index itself', async () => {
    const open = await openFreshDatabase('sqlite');
    try {
      await new Migrator(open.db).run();
      const rows: Array<{ v: number }> = await open.db.dataSource.query(`SELECT v FROM notes_fts_config WHERE k = 'automerge'`);
      expect(rows).toEqual([{ v: 8 }]);
    } finally {
      await open.close();
    }
  });

  it('leaves every committed row in the database file itself after the app, having searched, shuts down', async () => {
    const env = await freshDatabase('sqlite');
    const t = await startTestApp(env);
    // Checkpoints are the checkpoint thread's once the app is up; the app's own connection keeps a backstop.
    expect(await t.app.get(Database).dataSource.query('PRAGMA wal_autocheckpoint')).toEqual([{ wal_autocheckpoint: 16384 }]);
    const owner = await createOwner(t);
    const notes = t.app.get(NotesService);
    await notes.create(owner, { title: 'kept after shutdown', body: 'searchable words', tags: [], visibility: 'private' });
    expect((await notes.list(owner, { q: 'searchable', limit: 20 })).items.map((n) => n.title)).toEqual(['kept after shutdown']);
    await t.close();
    // The last connection to close checkpoints the write-ahead log into the file: the checkpoint
    // thread must have closed before the main connection, or a copy of the .sqlite file alone could miss the
    // latest writes.
    const copy = `${env.DATABASE_PATH}.copy`;
    copyFileSync(env.DATABASE_PATH, copy);
    const alone = new BetterSqlite3(copy, { readonly: true });
    try {
      expect(alone.prepare('SELECT title FROM notes').all()).toEqual([{ title: 'kept after shutdown' }]);
    } finally {
      alone.close();
    }
  });
});

describeEachEngine('search entries during a rolling deploy', (engine) => {
  if (engine !== 'postgres') return; // SQLite's index did not change (the migration is a no-op there)

  it('finds notes whose entry an instance of the previous version wrote without owner and time: the trigger fills them in', async () => {
    const t = await startTestApp(await freshDatabase(engine));
    try {
      const owner = await createOwner(t);
      const notes = t.app.get(NotesService);
      const note = await notes.create(owner, { title: 'Written by the old version', body: 'placeholder', tags: [], visibility: 'private' });
      // The previous version's statement, as it would run on a pod not yet replaced.
      const db = t.app.get(Database);
      await db.dataSource.query('DELETE FROM note_search WHERE note_id = $1', [note.id]);
      await db.dataSource.query(
        `INSERT INTO "note_search" ("note_id", "document") VALUES ($1, setweight(to_tsvector('simple', $2), 'A') || setweight(to_tsvector('simple', $3), 'B'))
         ON CONFLICT ("note_id") DO UPDATE SET "document" = EXCLUDED."document"`,
        [note.id, 'Written by the old version', 'oldversion words'],
      );
      expect(await db.dataSource.query('SELECT owner_id, created_at FROM note_search WHERE note_id = $1', [note.id])).toEqual([
        { owner_id: owner, created_at: String(note.createdAt.getTime()) },
      ]);
      expect((await notes.list(owner, { q: 'oldversion', limit: 20 })).items.map((n) => n.id)).toEqual([note.id]);
    } finally {
      await t.close();
    }
  });
});

describeEachEngine("a note's copy of its tag names", (engine) => {
  /** A hand-written statement with $n parameters, as another writer would send it. */
  const statements =
    (db: Database) =>
    (text: string, params: unknown[] = []) =>
      db.dataSource.query(
        text.replace(/\$(\d+)/g, (_, n) => db.placeholder(Number(n))),
        params,
      );

  it('follows note_tags and tags whoever writes them: the application, a hand-written statement, a rename, a deleted tag', async () => {
    const t = await startTestApp(await freshDatabase(engine));
    try {
      const owner = await createOwner(t);
      const notes = t.app.get(NotesService);
      const db = t.app.get(Database);
      const sql = statements(db);
      const tagsOf = async (id: string) => (await notes.get(id, owner))!.tags;
      // Each note's tags as a page of notes shows them (second before first: two creates may share a millisecond).
      const listed = async () => (await notes.list(owner, { limit: 20 })).items.map((n) => [n.title, n.tags]).sort((a, b) => (a[0] < b[0] ? 1 : -1));

      const first = await notes.create(owner, { title: 'first', body: 'x', tags: ['zeta', 'alpha', '_under', 'alpha'], visibility: 'private' });
      const second = await notes.create(owner, { title: 'second', body: 'x', tags: [], visibility: 'private' });
      expect(await tagsOf(first.id)).toEqual(['_under', 'alpha', 'zeta']);
      expect(await tagsOf(second.id)).toEqual([]);

      // As an instance of the previous version (or an import) writes them, knowing nothing of the copy.
      const [alpha] = await sql('SELECT id FROM tags WHERE owner_id = $1 AND name = $2', [owner, 'alpha']);
      await sql('INSERT INTO note_tags (note_id, tag_id) VALUES ($1, $2)', [second.id, alpha.id]);
      expect(await listed()).toEqual([
        ['second', ['alpha']],
        ['first', ['_under', 'alpha', 'zeta']],
      ]);

      await sql('UPDATE tags SET name = $1 WHERE id = $2', ['omega', alpha.id]);
      expect(await listed()).toEqual([
        ['second', ['omega']],
        ['first', ['_under', 'omega', 'zeta']],
      ]);

      // A hand-made merge moves a row to another note.
      await sql('UPDATE note_tags SET note_id = $1 WHERE note_id = $2 AND tag_id = (SELECT id FROM tags WHERE name = $3)', [second.id, first.id, 'zeta']);
      expect(await listed()).toEqual([
        ['second', ['omega', 'zeta']],
        ['first', ['_under', 'omega']],
      ]);

      await sql('DELETE FROM tags WHERE owner_id = $1 AND name = $2', [owner, 'zeta']);
      expect(await listed()).toEqual([
        ['second', ['omega']],
        ['first', ['_under', 'omega']],
      ]);
      await sql('DELETE FROM note_tags WHERE note_id = $1', [second.id]);
      expect(await listed()).toEqual([
        ['second', []],
        ['first', ['_under', 'omega']],
      ]);

      await notes.update(owner, first.id, { tags: ['beta'] }, {});
      expect(await tagsOf(first.id)).toEqual(['beta']);
      // The filter reads note_tags, the truth; the copy agrees with it.
      expect((await notes.list(owner, { tag: 'beta', limit: 20 })).items.map((n) => [n.title, n.tags])).toEqual([['first', ['beta']]]);
    } finally {
      await t.close();
    }
  });

  it('is whole on notes created at the same time with the same new tags: each carries every tag, one tag row per name', async () => {
    const t = await startTestApp(await freshDatabase(engine));
    try {
      const owner = await createOwner(t);
      const notes = t.app.get(NotesService);
      const made = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          notes.create(owner, { title: `burst ${i}`, body: 'words', tags: ['shared', `own-${i % 3}`, 'also-shared'], visibility: i % 2 ? 'team' : 'private' }),
        ),
      );
      for (const [i, note] of made.entries()) expect((await notes.get(note.id, owner))!.tags).toEqual(['also-shared', `own-${i % 3}`, 'shared']);
      expect((await notes.list(owner, { tag: 'shared', limit: 50 })).items).toHaveLength(12);
      expect((await notes.list(owner, { tag: 'own-1', limit: 50 })).items).toHaveLength(4);
      const tags = await t.app.get(Database).dataSource.query('SELECT name FROM tags ORDER BY name');
      expect(tags.map((r: { name: string }) => r.name)).toEqual(['also-shared', 'own-0', 'own-1', 'own-2', 'shared']);
      // Each has its search entry, the team's found in the team's search.
      expect((await notes.list(owner, { q: 'words', limit: 50 })).items).toHaveLength(12);
      expect((await notes.list(owner, { q: 'words', scope: 'team', limit: 50 })).items.map((n) => n.title).sort()).toEqual(
        made
          .filter((_, i) => i % 2)
          .map((n) => n.title)
          .sort(),
      );
    } finally {
      await t.close();
    }
  });

  it('agrees with note_tags after concurrent writers: two transactions tagging one note, a tag added while renamed (PostgreSQL)', async () => {
    if (engine !== 'postgres') return; // one writer at a time on SQLite
    const open = await openFreshDatabase(engine);
    const clients = [new Client({ connectionString: open.env.DATABASE_URL }), new Client({ connectionString: open.env.DATABASE_URL })];
    try {
      await new Migrator(open.db).run();
      const [a, b] = clients;
      await Promise.all(clients.map((c) => c.connect()));
      await a.query(
        "INSERT INTO users (id, email, display_name, password_hash, created_at, updated_at, password_changed_at) VALUES ('u1', 'u@example.com', 'U', 'x', 0, 0, 0)",
      );
      await a.query(
        "INSERT INTO notes (id, owner_id, title, body, visibility, created_at, updated_at) VALUES ('n1', 'u1', 'one', 'b', 'private', 1, 1), ('n2', 'u1', 'two', 'b', 'private', 2, 2)",
      );
      await a.query("INSERT INTO tags (id, owner_id, name) VALUES ('t1', 'u1', 'alpha'), ('t2', 'u1', 'beta'), ('t3', 'u1', 'gamma')");
      /**
       * Each statement in its own open transaction: the second is sent once the first has run, the first
       * commits once the second waits for a lock (or after 2 s: without the locking, it does not wait), then
       * the second commits.
       */
      const overlapping = async (first: [Client, string], second: [Client, string]) => {
        await Promise.all([first[0].query('BEGIN'), second[0].query('BEGIN')]);
        await first[0].query(first[1]);
        const later = second[0].query(second[1]);
        const deadline = Date.now() + 2000;
        const waiting = "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()";
        while (Number((await open.db.dataSource.query(waiting))[0].n) === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
        await first[0].query('COMMIT');
        await later;
        await second[0].query('COMMIT');
      };
      // Two transactions tag the same note.
      await overlapping([a, "INSERT INTO note_tags (note_id, tag_id) VALUES ('n1', 't1')"], [b, "INSERT INTO note_tags (note_id, tag_id) VALUES ('n1', 't2')"]);
      // A note gains a tag while another transaction renames that tag.
      await overlapping([b, "UPDATE tags SET name = 'zeta' WHERE id = 't3'"], [a, "INSERT INTO note_tags (note_id, tag_id) VALUES ('n2', 't3')"]);

      expect(await open.db.dataSource.query('SELECT id, tag_names FROM notes ORDER BY id')).toEqual([
        { id: 'n1', tag_names: 'alpha beta' },
        { id: 'n2', tag_names: 'zeta' },
      ]);
    } finally {
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
      await open.close();
    }
  });

  it('is filled in by the migration for notes written before it', async () => {
    const open = await openFreshDatabase(engine);
    try {
      const migrator = new Migrator(open.db);
      await migrator.run();
      const reverted = await revertThrough(migrator, 'AddTagNamesToNotes1795940000000');
      const sql = statements(open.db);
      await sql(
        "INSERT INTO users (id, email, display_name, password_hash, created_at, updated_at, password_changed_at) VALUES ('u1', 'old@example.com', 'Old', 'x', 0, 0, 0)",
      );
      for (const [id, title] of [
        ['n1', 'tagged'],
        ['n2', 'untagged'],
      ]) {
        await sql("INSERT INTO notes (id, owner_id, title, body, visibility, created_at, updated_at) VALUES ($1, 'u1', $2, 'b', 'private', 1, 1)", [id, title]);
      }
      await sql("INSERT INTO tags (id, owner_id, name) VALUES ('t1', 'u1', 'ops'), ('t2', 'u1', 'db'), ('t3', 'u1', '-first')");
      await sql("INSERT INTO note_tags (note_id, tag_id) VALUES ('n1', 't1'), ('n1', 't2'), ('n1', 't3')");

      expect(await migrator.run()).toEqual(reverted.reverse());
      expect(await sql('SELECT id, tag_names FROM notes ORDER BY id')).toEqual([
        { id: 'n1', tag_names: '-first db ops' },
        { id: 'n2', tag_names: '' },
      ]);
      expect(await schemaDrift(open.db)).toEqual([]);
    } finally {
      await open.close();
    }
  });
});

describeEachEngine('search entries of the previous tokenisation', (engine) => {
  it('are written again by RetokeniseSearchIndex: plum-137 is found by 137, trashed notes stay out', async () => {
    const t = await startTestApp(await freshDatabase(engine));
    try {
      const owner = await createOwner(t);
      const notes = t.app.get(NotesService);
      const kept = await notes.create(owner, { title: 'Order', body: 'Reorder plum-137 by 2026-12-04', tags: ['ops-team'], visibility: 'private' });
      const trashed = await notes.create(owner, { title: 'Old', body: 'plum-137 too', tags: [], visibility: 'private' });
      await notes.trash(owner, trashed.id);
      const db = t.app.get(Database);
      const migrator = new Migrator(db);
      await revertThrough(migrator, 'RetokeniseSearchIndex1795992100000'); // and every later one
      // The entry as the previous version wrote it: the engine's own word rules.
      if (engine === 'postgres') {
        await db.dataSource.query(
          `UPDATE note_search SET document = setweight(to_tsvector('simple', 'order'), 'A') || setweight(to_tsvector('simple', 'reorder plum-137 by 2026-12-04'), 'B')`,
        );
      }
      expect((await migrator.run())[0]).toBe('RetokeniseSearchIndex1795992100000');
      for (const q of ['137', 'plum-137', '12-04', 'tag:ops-team order', 'team']) {
        expect({ q, found: (await notes.list(owner, { q, limit: 20 })).items.map((n) => n.id) }).toEqual({ q, found: [kept.id] });
      }
    } finally {
      await t.close();
    }
  });
});

describe('search entries written before they were numbered newest first [sqlite]', () => {
  it('keep their notes and their order, newest first, and new entries go before them', async () => {
    const open = await openFreshDatabase('sqlite');
    try {
      const migrator = new Migrator(open.db);
      await migrator.run();
      const reverted = await revertThrough(migrator, 'NumberSearchEntriesNewestFirst1795950000000');
      const sql = (text: string, params: unknown[] = []) => open.db.dataSource.query(text.replace(/\$(\d+)/g, '?'), params);
      // As the index wrote them before: rowids growing with each entry.
      for (const [rowid, id] of [
        [1, 'n1'],
        [2, 'n2'],
        [3, 'n3'],
      ] as const) {
        await sql(`INSERT INTO notes_fts (rowid, owner, title, tags, body) VALUES ($1, 'o1', $2, '', 'harbour')`, [rowid, `title ${id}`]);
        await sql('INSERT INTO notes_fts_map (note_id, fts_rowid) VALUES ($1, $2)', [id, rowid]);
      }
      // The migration alone: a later one (RetokeniseSearchIndex) writes every entry again from the notes, which
      // these entries have none of.
      const runner = open.db.dataSource.createQueryRunner();
      const numbering = new NumberSearchEntriesNewestFirst1795950000000();
      await numbering.up(runner);
      const walk = () =>
        sql(
          `SELECT map.note_id AS id FROM notes_fts f CROSS JOIN notes_fts_map map ON map.fts_rowid = f.rowid WHERE notes_fts MATCH 'harbour' ORDER BY f.rowid`,
        );
      expect(await walk()).toEqual([{ id: 'n3' }, { id: 'n2' }, { id: 'n1' }]);
      await sql(
        `INSERT INTO notes_fts (rowid, owner, title, tags, body) VALUES ((SELECT coalesce(min(fts_rowid), 1) - 1 FROM notes_fts_map), 'o1', 'new', '', 'harbour')`,
      );
      await sql('INSERT INTO notes_fts_map (note_id, fts_rowid) VALUES ($1, last_insert_rowid())', ['n4']);
      expect(await walk()).toEqual([{ id: 'n4' }, { id: 'n3' }, { id: 'n2' }, { id: 'n1' }]);
      await numbering.down(runner);
      await runner.release();
      expect(await migrator.run()).toEqual(reverted.reverse());
      expect(await schemaDrift(open.db)).toEqual([]);
    } finally {
      await open.close();
    }
  });
});

/** Reverts the newest migrations down to and including `name`: the names reverted, newest first. */
async function revertThrough(migrator: Migrator, name: string): Promise<string[]> {
  const reverted: string[] = [];
  while (reverted[reverted.length - 1] !== name) {
    const last = await migrator.revert();
    if (!last) throw new Error(`${name} was never applied`);
    reverted.push(last);
  }
  return reverted;
}
