import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { DatabaseConfig } from '@kiroku/config';
import { SCHEMA } from '../src/schema';
import { builtEntry, childEnv, projectRoot, tempDir } from '@kiroku/testing';
import { AccountLinks, Accounts, ApiTokens } from '../src/modules/auth';
import { AlertEvaluator } from '../src/modules/alerts';
import { AuditTrail } from '../src/modules/audit';
import { BackupService } from '../src/modules/backup';
import { MetricsSampler } from '../src/modules/metrics';
import { NotesService } from '../src/modules/notes';
import { COPY_MARKER_TABLE, copyDatabase, databaseAt, Endpoint, exportArchive, importArchive, TableDigest } from '../src/modules/transfer';
import { ApiClient } from './support/api-client';
import { ageKeyPair } from './support/backup-keys';
import { freshDatabase, postgresMissing } from './support/engines';
import { runCli } from './support/process';
import { smallDisk } from './support/small-disk';
import { startTestApp, testConfig } from './support/test-app';

const BIG = '9007199254740993'; // 2^53 + 1: a JSON number would round it
const UNICODE_TITLE = 'Ünïcödé 東京 ☕ 👩‍👩‍👧 نص';
// ~95,000 code points of mixed scripts, with the word the search test looks for near the end.
const LARGE_BODY = `${'Grüße aus 東京 🍣 — Ελληνικά, русский, עברית.\n'.repeat(2100)}\nclosing word: zeppelin\n`;

interface Source {
  path: string;
  ownerId: string;
  otherId: string;
  teamNoteId: string;
  largeNoteId: string;
  trashedNoteId: string;
  env: Record<string, string>;
}

/** A SQLite database with every kind of row: accounts, sessions, tokens, throttles, notes (Unicode, large, trashed), tags, audit, backup catalog. */
async function filledSqlite(extraNotes: number): Promise<Source> {
  const keys = await ageKeyPair();
  const env: Record<string, string> = {
    ...(await freshDatabase('sqlite')),
    BACKUP_DIR: tempDir(),
    BACKUP_AGE_RECIPIENTS: keys.recipient,
    BACKUP_AGE_IDENTITY_FILE: keys.identityFile,
    // An alert with a notification that could not be delivered (nothing listens on port 9): incident history to carry over.
    ALERT_PENDING: '0s',
    ALERT_DISK_WARN: '0.001',
    ALERT_DISK_CRIT: '0.999',
    ALERT_WEBHOOK_URL: 'http://127.0.0.1:9/hook',
  };
  const t = await startTestApp(env);
  try {
    // Sign-up, session and token the way a person makes them.
    await ApiClient.forNewUser(t.url, 'ada@example.com');
    const owner = (await t.app.get(Accounts).findByEmail('ada@example.com'))!;
    const created = await t.app.get(Accounts).create({ email: 'grace@example.com', displayName: 'Grâce 星', password: 'another long passphrase' });
    if (!('user' in created)) throw new Error('no second user');
    await t.app.get(ApiTokens).create(created.user.id, 'script ☃');
    // A pending invitation and a reset link: a moved server keeps the links its admins handed out.
    await t.app.get(AccountLinks).invite('lin@example.com', owner.id, null);
    await t.app.get(AccountLinks).issueReset(created.user.id, owner.id, null);
    await t.app.get(Accounts).login('grace@example.com', 'wrong password!', '203.0.113.9');
    await t.app.get(AuditTrail).record('test.event', { userId: owner.id, details: { note: 'ünïcode "quoted" \\ back' } });
    const notes = t.app.get(NotesService);
    const large = await notes.create(owner.id, { title: UNICODE_TITLE, body: LARGE_BODY, tags: ['travel', 'ja'], visibility: 'public' });
    // A boolean column with a true value to carry (pinned), and a tag of another script.
    await notes.pin(owner.id, large.id, true);
    // A team note the team may edit, its history holding the change of that setting: carried, and found by the team's search.
    const team = await notes.create(owner.id, { title: 'meeting', body: 'quorum', tags: ['会議', 'node.js'], visibility: 'team' });
    await notes.update(owner.id, team.id, { editableByTeam: true }, {});
    const edited = await notes.create(owner.id, { title: 'tabs\tand\nlines', body: 'line one\r\nline two\ttab\n\n', tags: ['travel'], visibility: 'private' });
    // Two revisions: history is data, carried like the notes.
    await notes.update(owner.id, edited.id, { body: 'line one\r\nline two, edited ☃\n' }, {});
    await notes.update(owner.id, edited.id, { tags: ['travel', 'edited'] }, {});
    const trashed = await notes.create(owner.id, { title: 'in the trash', body: 'zeppelin in the trash', tags: [], visibility: 'private' });
    await notes.trash(owner.id, trashed.id);
    for (let i = 0; i < extraNotes; i++)
      await notes.create(created.user.id, { title: `bulk ${i}`, body: `bulk body ${i}`, tags: [`t${i % 7}`], visibility: 'private' });
    const run = await t.app.get(BackupService).run('manual');
    expect(run.status).toBe('succeeded');
    await t.app.get(MetricsSampler).sample();
    await t.app.get(AlertEvaluator).tick();
    const db = new BetterSqlite3(env.DATABASE_PATH);
    db.prepare('UPDATE backup_runs SET plain_bytes = ? WHERE id = ?').run(BigInt(BIG), run.id);
    db.close();
    return { path: env.DATABASE_PATH, ownerId: owner.id, otherId: created.user.id, largeNoteId: large.id, teamNoteId: team.id, trashedNoteId: trashed.id, env };
  } finally {
    await t.close();
  }
}

const base = (): DatabaseConfig => testConfig().database;

/** Rows and content hash per copied table, as the copy and the archive compute them. */
async function contentHashes(location: string): Promise<Record<string, string>> {
  const endpoint = await Endpoint.open(databaseAt(base(), location), SCHEMA, { exclusive: false, mustExist: true });
  try {
    const out: Record<string, string> = {};
    for (const table of endpoint.plan) {
      const digest = new TableDigest();
      for await (const lines of endpoint.lines(table, 100)) for (const line of lines) digest.add(line);
      out[table.name] = `${digest.rows}:${digest.sha256}`;
    }
    return out;
  } finally {
    await endpoint.close();
  }
}

/** The note ids a search for `q` finds, through the running application on that database. */
async function search(env: Record<string, string>, ownerId: string, q: string, scope: 'mine' | 'team' | 'all' = 'mine'): Promise<string[]> {
  const t = await startTestApp(env);
  try {
    return (await t.app.get(NotesService).list(ownerId, { q, limit: 50, scope })).items.map((n) => n.id);
  } finally {
    await t.close();
  }
}

const missing = postgresMissing();
const describeCrossEngine = missing ? describe.skip : describe;
if (missing) console.warn(`SKIPPED: SQLite ⇄ PostgreSQL transfers (${missing})`);

describeCrossEngine('moving data between engines', () => {
  let source: Source;
  let sourceHashes: Record<string, string>;

  beforeAll(async () => {
    source = await filledSqlite(20);
    sourceHashes = await contentHashes(source.path);
  });

  it('covers every kind of row in the filled source', () => {
    for (const table of [
      'users',
      'sessions',
      'api_tokens',
      'account_links',
      'login_throttles',
      'audit_events',
      'notes',
      'tags',
      'note_tags',
      'note_revisions',
      'backup_runs',
      'alerts',
      'alert_notifications',
    ]) {
      expect(Number(sourceHashes[table].split(':')[0])).toBeGreaterThan(0);
    }
  });

  it('copies SQLite → PostgreSQL → SQLite with identical content hashes, big integers exact, and search working on each target', async () => {
    const pg = (await freshDatabase('postgres')).DATABASE_URL;
    const lines: string[] = [];
    const there = await copyDatabase(base(), SCHEMA, source.path, pg, { progress: (l) => lines.push(l) });
    expect(there.tables.every((t) => t.matches)).toBe(true);
    expect(there.resumed).toBe(false);
    expect(there.searchIndexed).toBe(23); // every note but the trashed one
    expect(await contentHashes(pg)).toEqual(sourceHashes);

    const back = join(tempDir(), 'back.sqlite');
    const again = await copyDatabase(base(), SCHEMA, pg, back);
    expect(again.tables.every((t) => t.matches)).toBe(true);
    expect(await contentHashes(back)).toEqual(sourceHashes);
    const row = new BetterSqlite3(back, { readonly: true }).prepare('SELECT plain_bytes FROM backup_runs').safeIntegers(true).get() as { plain_bytes: bigint };
    expect(row.plain_bytes.toString()).toBe(BIG);
    const pinned = new BetterSqlite3(back, { readonly: true });
    expect(pinned.prepare('SELECT id FROM notes WHERE pinned').all()).toEqual([{ id: source.largeNoteId }]);
    expect(pinned.prepare('SELECT id, visibility FROM notes WHERE editable_by_team').all()).toEqual([{ id: source.teamNoteId, visibility: 'team' }]);
    expect(pinned.prepare('SELECT note_id AS id, version, editable_by_team AS e FROM note_revisions WHERE note_id = ?').all(source.teamNoteId)).toEqual([
      { id: source.teamNoteId, version: 1, e: 0 },
    ]);
    pinned.close();

    // SQLite search takes the lowest FTS rowids as an owner's newest matches: the rebuild writes each owner's oldest first.
    const copied = new BetterSqlite3(back, { readonly: true });
    const column = (sql: string) => (copied.prepare(sql).all() as Array<{ id: string }>).map((r) => r.id);
    expect(column('SELECT m.note_id AS id FROM notes_fts_map m INNER JOIN notes n ON n.id = m.note_id ORDER BY n.owner_id, m.fts_rowid DESC')).toEqual(
      column('SELECT id FROM notes WHERE deleted_at IS NULL ORDER BY owner_id, created_at, id'),
    );
    copied.close();

    for (const env of [{ DATABASE_URL: pg }, { DATABASE_PATH: back }] as Array<Record<string, string>>) {
      expect(await search(env, source.ownerId, 'zeppelin')).toEqual([source.largeNoteId]);
      expect(await search(env, source.ownerId, '東京')).toEqual([source.largeNoteId]);
      // Another member finds the team note through the rebuilt index, and only it.
      expect(await search(env, source.otherId, 'quorum', 'team')).toEqual([source.teamNoteId]);
      expect(await search(env, source.otherId, 'zeppelin', 'all')).toEqual([]);
    }
  });

  it('refuses a target that already holds rows and leaves it alone', async () => {
    const refused = await runCli(['db', 'copy', '--from', join(tempDir(), 'x.sqlite'), '--to', source.path], {});
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^kiroku: .*x\.sqlite does not exist\n$/);
    const pg = (await freshDatabase('postgres')).DATABASE_URL;
    await copyDatabase(base(), SCHEMA, source.path, pg);
    const twice = await runCli(['db', 'copy', '--from', source.path, '--to', pg], {});
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/^kiroku: the target is not empty \(.*\b\d+ rows in users, .*\): copy into a new database\n$/);
    expect(await contentHashes(pg)).toEqual(sourceHashes);
  });

  it('exports and imports round-trip exactly across engines, plain and encrypted', async () => {
    const plain = join(tempDir(), 'kiroku.zip');
    const manifest = await exportArchive({ ...testConfig(source.env), schema: SCHEMA }, plain);
    expect(Object.fromEntries(manifest.tables.map((t) => [t.name, `${t.rows}:${t.sha256}`]))).toEqual(sourceHashes);

    const pg = (await freshDatabase('postgres')).DATABASE_URL;
    await importArchive({ ...testConfig({ ...source.env, DATABASE_URL: pg }), schema: SCHEMA }, plain);
    expect(await contentHashes(pg)).toEqual(sourceHashes);
    expect(await search({ DATABASE_URL: pg }, source.ownerId, 'zeppelin')).toEqual([source.largeNoteId]);

    // Encrypted from PostgreSQL, back into a new SQLite file through the CLI.
    const sealed = join(tempDir(), 'kiroku.zip.age');
    const exported = await runCli(['export', '--out', sealed, '--encrypt'], { ...source.env, DATABASE_URL: pg });
    expect(exported.stderr).toBe('');
    expect(exported.code).toBe(0);
    expect(readFileSync(sealed).subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
    const file = join(tempDir(), 'imported.sqlite');
    const imported = await runCli(['import', sealed], { ...source.env, DATABASE_PATH: file });
    expect(imported.stderr).toBe('');
    expect(imported.stdout).toMatch(new RegExp(`imported \\d+ rows in ${Object.keys(sourceHashes).length} tables \\(exported .* from postgres\\)`));
    expect(await contentHashes(file)).toEqual(sourceHashes);
    expect(await search({ DATABASE_PATH: file }, source.ownerId, '東京')).toEqual([source.largeNoteId]);
    expect(await search({ DATABASE_PATH: file }, source.otherId, 'quorum', 'all')).toEqual([source.teamNoteId]);

    // Into a database that holds rows: refused.
    const again = await runCli(['import', plain], { DATABASE_PATH: file });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^kiroku: the database is not empty \(.*\): import into an empty database\n$/);
  });

  it('refuses a corrupted or truncated archive with a clear message and writes nothing', async () => {
    const archive = join(tempDir(), 'kiroku.zip');
    await exportArchive({ ...testConfig(source.env), schema: SCHEMA }, archive);
    const bytes = readFileSync(archive);
    const truncated = join(tempDir(), 'truncated.zip');
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const flipped = join(tempDir(), 'flipped.zip');
    const copy = Buffer.from(bytes);
    const notesFile = /tables\/\d\d-notes\.jsonl/.exec(copy.toString('latin1'))![0];
    const at = copy.indexOf(notesFile) + 300;
    copy[at] ^= 0x5a;
    writeFileSync(flipped, copy);
    const notArchive = join(tempDir(), 'notes.txt');
    writeFileSync(notArchive, 'hello');

    for (const [file, reason] of [
      [truncated, /is damaged or truncated: .*; nothing was imported/],
      [flipped, new RegExp(`is damaged or truncated.*${notesFile.replace('.', '\\.')}.*; nothing was imported`)],
      [notArchive, /is damaged or truncated/],
    ] as const) {
      for (const target of [{ DATABASE_URL: (await freshDatabase('postgres')).DATABASE_URL }, { DATABASE_PATH: join(tempDir(), 'target.sqlite') }] as Array<
        Record<string, string>
      >) {
        const result = await runCli(['import', file], target);
        expect(result.code).toBe(1);
        expect(result.stderr).toMatch(reason);
        expect(result.stderr.split('\n')).toHaveLength(2);
        const location = target.DATABASE_URL ?? target.DATABASE_PATH;
        const endpoint = await Endpoint.open(databaseAt(base(), location), SCHEMA, { exclusive: false });
        try {
          await endpoint.migrate(); // a refusal may come before the target was opened at all
          expect(Object.values(await endpoint.rowCounts()).every((n) => n === 0)).toBe(true);
        } finally {
          await endpoint.close();
        }
      }
    }
  });

  it('an export that runs out of disk fails with the reason and leaves no file behind', async () => {
    const whole = join(tempDir(), 'whole.zip');
    await exportArchive({ ...testConfig(source.env), schema: SCHEMA }, whole);
    // A disk of one 4 KiB page less than the archive needs.
    const disk = smallDisk(Math.max(4, Math.ceil(statSync(whole).size / 4096) * 4 - 4), 'export on a full disk');
    if (!disk) return;
    try {
      const out = join(disk.path, 'kiroku.zip');
      const result = await runCli(['export', '--out', out], source.env);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^kiroku: export failed: ENOSPC: no space left on device.*\n$/);
      expect(readdirSync(disk.path)).toEqual([]);
    } finally {
      disk.unmount();
    }
  });

  it('does not write into a SQLite file that a running Kiroku serves', async () => {
    const served = await freshDatabase('sqlite');
    const t = await startTestApp(served);
    try {
      const archive = join(tempDir(), 'kiroku.zip');
      await exportArchive({ ...testConfig(source.env), schema: SCHEMA }, archive);
      const imported = await runCli(['import', archive], served);
      expect(imported.code).toBe(1);
      expect(imported.stderr).toBe(`kiroku: a Kiroku server is using ${served.DATABASE_PATH}: stop it first\n`);
      const copied = await runCli(['db', 'copy', '--from', source.path, '--to', served.DATABASE_PATH], {});
      expect(copied.stderr).toBe(`kiroku: a Kiroku server is using ${served.DATABASE_PATH}: stop it first\n`);
    } finally {
      await t.close();
    }
  });

  it('moves a PostgreSQL sequence behind a copied serial column past the copied keys', async () => {
    // No Kiroku table has a serial key today; a probe table stands in for the first one that will.
    const endpoint = await Endpoint.open(databaseAt(base(), (await freshDatabase('postgres')).DATABASE_URL), SCHEMA, { exclusive: true });
    try {
      await endpoint.dataSource.query('CREATE TABLE seq_probe (id serial PRIMARY KEY, v text)');
      await endpoint.dataSource.query("INSERT INTO seq_probe (id, v) VALUES (1, 'a'), (7, 'b')");
      endpoint.plan.push({
        name: 'seq_probe',
        key: ['id'],
        columns: [
          { name: 'id', kind: 'integer' },
          { name: 'v', kind: 'text' },
        ],
      });
      expect(await endpoint.resetSequences()).toEqual(['public.seq_probe_id_seq']);
      expect(await endpoint.dataSource.query("INSERT INTO seq_probe (v) VALUES ('c') RETURNING id")).toEqual([{ id: 8 }]);
    } finally {
      await endpoint.close();
    }
  });

  it('a copy killed midway leaves a marked target that the same command clears and copies again', async () => {
    const big = await filledSqlite(600);
    const pg = (await freshDatabase('postgres')).DATABASE_URL;
    const child = spawn(process.execPath, [builtEntry('cli'), 'db', 'copy', '--from', big.path, '--to', pg, '--batch-size', '2'], {
      cwd: projectRoot(),
      env: { ...childEnv(), NODE_ENV: 'test' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    const exited = new Promise<string | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString();
        // Notes come after the login throttles: the process is killed while it copies them.
        if (/login_throttles/.test(stdout)) resolve();
      });
      void exited.then(() => reject(new Error(`the copy ended before it could be killed:\n${stdout}`)));
    });
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const partial = await Endpoint.open(databaseAt(base(), pg), SCHEMA, { exclusive: false });
    try {
      const counts = await partial.rowCounts();
      expect(counts.users).toBe(2);
      expect(counts.note_tags).toBe(0);
      const runner = partial.dataSource.createQueryRunner();
      expect(await runner.hasTable(COPY_MARKER_TABLE)).toBe(true);
      await runner.release();
    } finally {
      await partial.close();
    }

    // The URL from a variable, as an operator keeps a password off the command line.
    const rerun = await runCli(['db', 'copy', '--from', big.path, '--to', 'env:TARGET_DATABASE_URL'], { TARGET_DATABASE_URL: pg });
    expect(rerun.stderr).toBe('');
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toContain('holds a copy that did not finish: clearing it and starting over');
    expect(rerun.stdout).toMatch(/^notes +\d+ +\d+ +[0-9a-f]{16} +[0-9a-f]{16} +ok$/m);
    expect(rerun.stdout).toMatch(
      new RegExp(`Copy verified: \\d+ rows in ${Object.keys(sourceHashes).length} tables match; search index rebuilt for 603 notes\\.`),
    );
    expect(await contentHashes(pg)).toEqual(await contentHashes(big.path));
  });
});
