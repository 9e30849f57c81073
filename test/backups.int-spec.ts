import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import BetterSqlite3 from 'better-sqlite3';
import { FakeClock } from '@kiroku/clock';
import { DatabaseConfig } from '@kiroku/config';
import { Database, LeaseService } from '@kiroku/persistence';
import { TaskScheduler } from '@kiroku/scheduler';
import { tempDir } from '@kiroku/testing';
import { BackupRun, backupScratchPrefix, BackupService, BackupTask, restoreBackup, restoreInto, withClient } from '../src/modules/backup';
import { STORAGE_DESTINATION } from '../src/modules/storage';
import { type StorageDestination } from '../src/modules/storage';
import { NotesService } from '../src/modules/notes';
import { Accounts } from '../src/modules/auth';
import { ageKeyPair } from './support/backup-keys';
import { describeEachEngine, freshDatabase } from './support/engines';
import { startTestApp, TestApp } from './support/test-app';

const DAY = 24 * 3_600_000;

describeEachEngine('backups', (engine) => {
  let t: TestApp;
  let backups: BackupService;
  let notes: NotesService;
  let ownerId: string;
  let backupDir: string;
  let keys: { identityFile: string; recipient: string };
  let env: Record<string, string>;
  const clock = new FakeClock(Date.UTC(2026, 10, 1, 2, 0));

  beforeEach(async () => {
    keys = await ageKeyPair();
    backupDir = tempDir();
    env = { ...(await freshDatabase(engine)), BACKUP_DIR: backupDir, BACKUP_AGE_RECIPIENTS: keys.recipient, BACKUP_AGE_IDENTITY_FILE: keys.identityFile };
    t = await startTestApp(env, { clock });
    backups = t.app.get(BackupService);
    notes = t.app.get(NotesService);
    const created = await t.app.get(Accounts).create({ email: 'owner@example.com', displayName: 'Owner', password: 'a long enough passphrase' }, 'admin');
    if (!('user' in created)) throw new Error('no user');
    ownerId = created.user.id;
  });
  afterEach(() => t?.close());

  const storedFiles = () => readdirSync(join(backupDir, 'backups')).sort();

  it('backs up while notes keep being written: every note written before the run is in the restored copy, which matches the catalog', async () => {
    for (let i = 0; i < 50; i++) await notes.create(ownerId, { title: `before ${i}`, body: `東京 body ${i}`, tags: ['x'], visibility: 'private' });
    const edited = (await notes.list(ownerId, { limit: 1 })).items[0];
    await notes.update(ownerId, edited.id, { body: 'second version' }, {});
    await notes.update(ownerId, edited.id, { body: 'third version' }, {});
    let writing = true;
    let written = 0;
    const writer = (async () => {
      while (writing) {
        await notes.create(ownerId, { title: `during ${written}`, body: 'written during the backup', tags: [], visibility: 'private' });
        written++;
        // As requests do: each write arrives from the network, letting the rest of the process run in between.
        await new Promise((r) => setImmediate(r));
      }
    })();
    const run = await backups.run('manual');
    writing = false;
    await writer;
    expect(run).toMatchObject({ status: 'succeeded', error: null, verifyStatus: 'passed', verifyMode: 'restore', engine, encryption: 'x25519' });
    expect(written).toBeGreaterThan(0);
    const counted = JSON.parse(run.rowCounts!);
    expect(counted.notes).toBeGreaterThanOrEqual(50);
    expect(counted.schema_migrations).toBeGreaterThan(0);

    const target = engine === 'sqlite' ? join(tempDir(), 'restored.sqlite') : (await freshDatabase('postgres')).DATABASE_URL;
    const restored = await restoreInto(t.config.backup, t.config.database, engine, await backups.destination.get(run.objectKey!), { target });
    expect(restored.restored.rowCounts).toEqual(counted);
    const titles =
      engine === 'sqlite'
        ? (new BetterSqlite3(target, { readonly: true }).prepare('SELECT title FROM notes').all() as Array<{ title: string }>).map((r) => r.title)
        : ((await withClient(target, (q) => q('SELECT title FROM notes'))) as Array<{ title: string }>).map((r) => r.title);
    for (let i = 0; i < 50; i++) expect(titles).toContain(`before ${i}`);
    // The history is data: the restored copy has the versions an edit replaced.
    const revisionsSql = `SELECT version, body FROM note_revisions WHERE note_id = '${edited.id}' ORDER BY version`;
    const revisions =
      engine === 'sqlite' ? new BetterSqlite3(target, { readonly: true }).prepare(revisionsSql).all() : await withClient(target, (q) => q(revisionsSql));
    expect(revisions).toEqual([
      { version: 1, body: edited.body },
      { version: 2, body: 'second version' },
    ]);
  });

  it('stores only age files with a manifest beside each, and the age tool alone decrypts them into a database that passes its checks', async () => {
    await notes.create(ownerId, { title: 'kept', body: 'body', tags: [], visibility: 'private' });
    const run = await backups.run('manual');
    expect(run.status).toBe('succeeded');
    const files = storedFiles();
    expect(files).toEqual([run.objectKey!.split('/')[1], `${run.objectKey!.split('/')[1]}.manifest.json`]);
    const object = join(backupDir, run.objectKey!);
    expect(readFileSync(object).subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
    const manifest = JSON.parse(readFileSync(`${object}.manifest.json`, 'utf8'));
    expect(manifest).toMatchObject({
      format: 'kiroku-backup/1',
      id: run.id,
      engine,
      schemaVersion: run.schemaVersion,
      storedSha256: run.storedSha256,
      storedBytes: statSync(object).size,
    });

    const age = spawnSync('age', ['--decrypt', '-i', keys.identityFile, object], { maxBuffer: 1 << 30 });
    expect(age.stderr.toString()).toBe('');
    expect(age.status).toBe(0);
    if (engine === 'sqlite') {
      const file = join(tempDir(), 'by-age.sqlite');
      writeFileSync(file, gunzipSync(age.stdout));
      const db = new BetterSqlite3(file, { readonly: true });
      expect(db.pragma('integrity_check')).toEqual([{ integrity_check: 'ok' }]);
      expect(db.prepare('SELECT title FROM notes').all()).toEqual([{ title: 'kept' }]);
      db.close();
    } else {
      const dump = join(tempDir(), 'by-age.pgdump');
      writeFileSync(dump, age.stdout);
      const target = new URL((await freshDatabase('postgres')).DATABASE_URL);
      const restore = spawnSync('pg_restore', ['--no-owner', '--exit-on-error', `--dbname=${target}`, dump]);
      expect(restore.stderr.toString()).toBe('');
      expect(restore.status).toBe(0);
      expect(await withClient(target.toString(), (q) => q('SELECT title FROM notes'))).toEqual([{ title: 'kept' }]);
    }
  });

  it('refuses a backup with a flipped byte or cut short, on verify and on restore', async () => {
    const run = await backups.run('manual');
    const object = join(backupDir, run.objectKey!);
    const original = readFileSync(object);
    const flipped = Buffer.from(original);
    flipped[Math.floor(flipped.length / 2)] ^= 0x01;
    writeFileSync(object, flipped);
    const afterFlip = await backups.verify(run.id);
    expect(afterFlip).toMatchObject({ verifyStatus: 'failed', verifyMode: 'restore' });
    expect(afterFlip.verifyError).toBeTruthy();

    writeFileSync(object, original);
    expect((await backups.verify(run.id)).verifyStatus).toBe('passed');
    truncateSync(object, original.length - 100);
    const afterCut = await backups.verify(run.id);
    expect(afterCut.verifyStatus).toBe('failed');

    const target = engine === 'sqlite' ? join(tempDir(), 'never.sqlite') : (await freshDatabase('postgres')).DATABASE_URL;
    await expect(restoreInto(t.config.backup, t.config.database, engine, await backups.destination.get(run.objectKey!), { target })).rejects.toThrow();
  });

  it('prunes backups past the retention period from the catalog and the folder, keeping the newest verified one', async () => {
    const runs: BackupRun[] = [];
    for (let day = 0; day < 4; day++) {
      runs.push(await backups.run('manual'));
      clock.advance(15 * DAY);
    }
    // Runs on days 0, 15, 30 and 45, each pruning after itself: on day 45 the day-0 backup (45 days old) went;
    // the day-15 one was exactly 30 days old, which is still kept.
    const listed = await backups.list();
    expect(listed.filter((r) => r.prunedAt).map((r) => r.id)).toEqual([runs[0].id]);
    expect(storedFiles()).toHaveLength(2 * 3);
    // Day 60: the day-15 backup is past 30 days; day 30's is exactly 30 days old and stays.
    expect(await backups.prune()).toEqual({ pruned: [runs[1].id] });
    const names = (r: BackupRun) => [r.objectKey!.split('/')[1], `${r.objectKey!.split('/')[1]}.manifest.json`];
    expect(storedFiles()).toEqual([...names(runs[2]), ...names(runs[3])].sort());
    // A failed newest run holds pruning, however old the others are.
    clock.advance(40 * DAY);
    await t.close();
    t = await startTestApp({ ...env, BACKUP_AGE_RECIPIENTS: undefined }, { clock });
    expect((await t.app.get(BackupService).run('manual')).status).toBe('failed');
    expect(await t.app.get(BackupService).prune()).toEqual({ pruned: [], held: 'the newest backup run failed' });
    expect(storedFiles()).toHaveLength(4);
  });

  it('records a run without encryption settings as failed and stores nothing', async () => {
    await t.close();
    t = await startTestApp({ ...env, BACKUP_AGE_RECIPIENTS: undefined, BACKUP_AGE_IDENTITY_FILE: undefined }, { clock });
    const run = await t.app.get(BackupService).run('manual');
    expect(run).toMatchObject({ status: 'failed', objectKey: null, encryption: 'none' });
    expect(run.error).toMatch(/BACKUP_AGE_RECIPIENTS/);
    expect(readdirSync(backupDir)).toEqual([]);
  });

  it('reports its figures for metrics and alerts', async () => {
    expect(await backups.status()).toEqual({
      lastSuccessAt: null,
      lastVerifiedAt: null,
      lastDurationMs: null,
      lastStoredBytes: null,
      lastRunFailed: false,
      lastError: null,
      failures: 0,
      newestVerifiedBackupAt: null,
      lastVerifyFailed: false,
    });
    const run = await backups.run('manual');
    expect(await backups.status()).toEqual({
      lastSuccessAt: run.finishedAt,
      lastVerifiedAt: run.verifiedAt,
      lastDurationMs: run.finishedAt!.getTime() - run.startedAt.getTime(),
      lastStoredBytes: run.storedBytes,
      lastRunFailed: false,
      lastError: null,
      failures: 0,
      newestVerifiedBackupAt: run.finishedAt,
      lastVerifyFailed: false,
    });
  });

  it('runs one backup at a time: a second request while one runs is refused, and nothing is recorded for it', async () => {
    const outcomes = await Promise.allSettled([backups.run('manual'), backups.run('manual')]);
    expect(outcomes.filter((o) => o.status === 'fulfilled').map((o) => o.value.status)).toEqual(['succeeded']);
    expect(outcomes.filter((o) => o.status === 'rejected').map((o) => String(o.reason.message))).toEqual([expect.stringMatching(/another backup is running/)]);
    expect(await backups.list()).toHaveLength(1);
    expect((await backups.run('manual')).status).toBe('succeeded'); // the lock was released
  });

  it('stops a run that lost its lock (lease ran out, another instance took it over): recorded as failed, its object removed, nothing pruned', async () => {
    const kept = await backups.run('manual');
    clock.advance(40 * DAY); // `kept` is now past retention: only a prune would remove it
    const destination = t.app.get<StorageDestination>(STORAGE_DESTINATION);
    const put = destination.put.bind(destination);
    jest.spyOn(destination, 'put').mockImplementationOnce(async (key, body) => {
      // Mid-upload, the renewals have failed for longer than the lease and another instance claims the lock.
      clock.advance(3 * 60_000);
      expect(await new LeaseService(t.app.get(Database), clock, 'another-instance').claim('backup-exclusive', 'run', 60_000)).not.toBeNull();
      return put(key, body);
    });
    const run = await backups.run('manual');
    expect(run).toMatchObject({ status: 'failed', objectKey: null });
    expect(run.error).toMatch(/backup lock was lost .* its object was removed/);
    expect(storedFiles()).toEqual([kept.objectKey!.split('/')[1], `${kept.objectKey!.split('/')[1]}.manifest.json`]);
    expect((await backups.list()).find((r) => r.id === kept.id)).toMatchObject({ prunedAt: null });
  });

  it('removes what a killed backup of this database left in the temp folder, and any restore folder abandoned for a day, nothing else', async () => {
    const leftover = mkdtempSync(join(tmpdir(), backupScratchPrefix(t.app.get(DatabaseConfig))));
    writeFileSync(join(leftover, 'snapshot.sqlite'), 'a half-written snapshot');
    const another = mkdtempSync(join(tmpdir(), 'kiroku-backup-000000000000-'));
    const abandonedRestore = mkdtempSync(join(tmpdir(), 'kiroku-restore-'));
    const dayAndMinuteAgo = new Date(Date.now() - 24 * 3_600_000 - 60_000);
    utimesSync(abandonedRestore, dayAndMinuteAgo, dayAndMinuteAgo);
    const abandonedImport = mkdtempSync(join(tmpdir(), 'kiroku-import-'));
    utimesSync(abandonedImport, dayAndMinuteAgo, dayAndMinuteAgo);
    const recentRestore = mkdtempSync(join(tmpdir(), 'kiroku-restore-'));
    try {
      expect((await backups.run('manual')).status).toBe('succeeded');
      expect(existsSync(leftover)).toBe(false);
      expect(existsSync(another)).toBe(true); // another database's, and recent
      expect(existsSync(abandonedRestore)).toBe(false); // a day old: a killed restore's decrypted copy
      expect(existsSync(abandonedImport)).toBe(false); // likewise a killed import of an encrypted archive
      expect(existsSync(recentRestore)).toBe(true); // may be a restore running now
    } finally {
      for (const dir of [another, recentRestore]) rmSync(dir, { recursive: true, force: true });
    }
  });

  it('works with a passphrase instead of recipients, restore drill included', async () => {
    await t.close();
    t = await startTestApp(
      { ...env, BACKUP_AGE_RECIPIENTS: undefined, BACKUP_AGE_IDENTITY_FILE: undefined, BACKUP_AGE_PASSPHRASE: 'correct horse battery staple' },
      { clock },
    );
    const run = await t.app.get(BackupService).run('manual');
    expect(run).toMatchObject({ status: 'succeeded', encryption: 'passphrase', verifyStatus: 'passed', verifyMode: 'restore' });
    expect(readFileSync(join(backupDir, run.objectKey!)).subarray(0, 40).toString()).toMatch(/^age-encryption\.org\/v1\n-> scrypt /);
    // age's scrypt (work factor 18, in JavaScript) runs for the encryption, the check and the restore drill: about
    // 5 s on a quiet machine, past 60 s once on a CI machine busy with other suites.
  }, 180_000);

  if (engine === 'postgres') {
    it('restores only into an empty PostgreSQL database unless forced', async () => {
      const run = await backups.run('manual');
      const target = (await freshDatabase('postgres')).DATABASE_URL;
      await withClient(target, (q) => q('CREATE TABLE precious (id int)'));
      await expect(restoreBackup(t.config.backup, t.config.database, run.id, target, false)).rejects.toThrow(/the target database is not empty/);
      expect(await withClient(target, (q) => q("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'precious'"))).toEqual([{ n: 1 }]);
      const forced = await restoreBackup(t.config.backup, t.config.database, run.id.slice(0, 8), target, true);
      expect(forced.restored.rowCounts).toEqual(JSON.parse(run.rowCounts!));
      expect(await withClient(target, (q) => q("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'precious'"))).toEqual([{ n: 0 }]);
    });

    it('three instances firing the same slot make exactly one backup', async () => {
      const others = await Promise.all([1, 2].map(() => startTestApp(env, { clock })));
      try {
        const at = new Date(Date.UTC(2026, 10, 20, 2, 0, 5));
        const outcomes = await Promise.all([t, ...others].map((app) => app.app.get(TaskScheduler).runSlot(BackupTask.ID, at)));
        expect(outcomes.sort()).toEqual(['skipped', 'skipped', 'succeeded']);
        const rows = await backups.list();
        expect(rows).toHaveLength(1);
        expect(rows[0]).toMatchObject({ trigger: 'schedule', slot: '2026-11-20T02:00:00.000Z', status: 'succeeded' });
      } finally {
        await Promise.all(others.map((o) => o.close()));
      }
    });
  }
});
