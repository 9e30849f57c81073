import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { FakeClock } from '@kiroku/clock';
import { SqliteFileLock } from '@kiroku/supervisor';
import { builtEntry, childEnv, projectRoot, tempDir } from '@kiroku/testing';
import { BackupService } from '../src/modules/backup';
import { ageKeyPair } from './support/backup-keys';
import { runCli } from './support/process';
import { startTestApp } from './support/test-app';

async function setup() {
  const keys = await ageKeyPair();
  const dir = tempDir();
  const env = {
    DATABASE_PATH: join(dir, 'kiroku.sqlite'),
    BACKUP_DIR: join(dir, 'backups-dest'),
    BACKUP_AGE_RECIPIENTS: keys.recipient,
    BACKUP_AGE_IDENTITY_FILE: keys.identityFile,
  };
  expect((await runCli(['migrate', 'run'], env)).code).toBe(0);
  return { env, dir, keys };
}

describe('kiroku backup (CLI, SQLite)', () => {
  it('runs, lists from the catalog and from the destination alone, verifies, and restores into a new file only', async () => {
    const { env, dir } = await setup();
    expect((await runCli(['users', 'create', '--email', 'a@example.com', '--name', 'A'], env)).code).toBe(0);
    const run = await runCli(['backup', 'run'], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^backup [0-9a-f-]{36} stored as backups\/kiroku-sqlite-\d{8}T\d{6}Z-[0-9a-f]{8}\.sqlite\.gz\.age \(.+\)\nverified: passed \(restore\)\n$/,
    );
    const id = /^backup ([0-9a-f-]{36})/.exec(run.stdout)![1];

    expect((await runCli(['backup', 'list'], env)).stdout).toMatch(new RegExp(`^${id}\\t\\S+\\tsucceeded\\t.+\\tverify passed`));
    // Without a database at all: the manifests in the destination.
    const listed = await runCli(['backup', 'list', '--destination'], { ...env, DATABASE_PATH: join(tempDir(), 'absent', 'none.sqlite') });
    expect(listed.stdout).toMatch(new RegExp(`^${id}\\t`));
    expect((await runCli(['backup', 'verify', id.slice(0, 8)], env)).stdout).toMatch(/verified \(restore\)/);

    const target = join(dir, 'restored.sqlite');
    const restored = await runCli(['backup', 'restore', id.slice(0, 8), '--to', target], env);
    expect(restored.code).toBe(0);
    expect(restored.stdout).toMatch(/^restored backup .+\(sqlite, schema \w+\)\n/);
    expect(restored.stdout).toMatch(/\n {2}users\t1 rows\n/);
    const db = new BetterSqlite3(target, { readonly: true });
    expect(db.prepare('SELECT email FROM users').all()).toEqual([{ email: 'a@example.com' }]);
    db.close();

    const again = await runCli(['backup', 'restore', id, '--to', target], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^kiroku: .+restored\.sqlite exists: restore into a new file, or add --force/);
    const toPostgres = await runCli(['backup', 'restore', id, '--to', 'postgres://x@127.0.0.1:1/x'], env);
    expect(toPostgres.stderr).toMatch(/this is a SQLite backup: --to must be a file path/);

    // --force over a file a running server serves (it holds the file's lock, as this test does) is refused.
    const served = new SqliteFileLock(target);
    expect(served.tryAcquire()).toBe(true);
    const inUse = await runCli(['backup', 'restore', id, '--to', target, '--force'], env);
    served.release();
    expect(inUse.code).toBe(1);
    expect(inUse.stderr).toMatch(/^kiroku: a Kiroku server is using .+restored\.sqlite: stop it first\n$/);
    expect((await runCli(['backup', 'restore', id, '--to', target, '--force'], env)).code).toBe(0);
  }, 120_000); // eight CLI processes, each starting Node and Nest

  it('splits the key from the instances (BACKUP_MAINTENANCE=separate): a run only stores and checksums; the maintenance job drills the newest backup, then prunes', async () => {
    const { env } = await setup();
    const instance = { ...env, BACKUP_MAINTENANCE: 'separate', BACKUP_AGE_IDENTITY_FILE: '' };
    const run = await runCli(['backup', 'run'], instance);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/\nverified: passed \(checksum\)\n$/);
    const id = /^backup ([0-9a-f-]{36})/.exec(run.stdout)![1];

    // Without the key, --drill refuses rather than settle for a checksum; the job's mount is missing.
    const keyless = await runCli(['backup', 'verify', '--latest', '--drill'], instance);
    expect(keyless.code).toBe(1);
    expect(keyless.stderr).toMatch(/^kiroku: --drill: BACKUP_AGE_IDENTITY_FILE .+ is unset here/);
    const drilled = await runCli(['backup', 'verify', '--latest', '--drill'], { ...instance, BACKUP_AGE_IDENTITY_FILE: env.BACKUP_AGE_IDENTITY_FILE });
    expect({ code: drilled.code, stderr: drilled.stderr }).toEqual({ code: 0, stderr: '' });
    expect(drilled.stdout).toMatch(new RegExp(`^backup ${id} verified \\(restore\\)`));
    expect((await runCli(['backup', 'verify'], instance)).stderr).toBe('kiroku: name a backup id, or --latest (not both)\n');

    // A key that does not open the backup: the drill fails, recorded, and the job stops before pruning.
    const stranger = await ageKeyPair();
    const failed = await runCli(['backup', 'verify', '--latest', '--drill'], { ...instance, BACKUP_AGE_IDENTITY_FILE: stranger.identityFile });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(new RegExp(`^kiroku: backup ${id} failed verification \\(restore\\)`));
    expect((await runCli(['backup', 'list'], instance)).stdout).toMatch(/verify failed/);
  });

  it('leaves nothing that looks complete when killed mid-backup; the next run cleans up and succeeds', async () => {
    const { env } = await setup();
    // About 120 MB of notes, so the run takes long enough to be caught in the middle.
    const db = new BetterSqlite3(env.DATABASE_PATH);
    db.prepare(
      "INSERT INTO users (id, email, display_name, password_hash, role, time_zone, created_at, updated_at, password_changed_at) VALUES ('u', 'u@example.com', 'U', 'x', 'user', 'UTC', 0, 0, 0)",
    ).run();
    const insert = db.prepare("INSERT INTO notes (id, owner_id, title, body, visibility, created_at, updated_at) VALUES (?, 'u', 't', ?, 'private', ?, ?)");
    const filler = (i: number) => `${i} `.repeat(20).padEnd(60_000, 'abcdefghij0123456789'.repeat(3000).slice(i % 20));
    db.transaction(() => {
      for (let i = 0; i < 2000; i++) insert.run(`00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, filler(i), i, i);
    })();
    db.close();

    const child = spawn(process.execPath, [builtEntry('cli'), 'backup', 'run'], {
      cwd: projectRoot(),
      env: { ...childEnv(), NODE_ENV: 'test', ...env },
      stdio: 'ignore',
    });
    const folder = join(env.BACKUP_DIR, 'backups');
    const deadline = Date.now() + 30_000;
    while (!(existsSync(folder) && readdirSync(folder).some((f) => f.startsWith('.partial-')))) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error('never caught the backup writing');
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(readdirSync(folder).filter((f) => !f.startsWith('.partial-'))).toEqual([]);

    // The next run, after the dead run's lock has expired (a clock 3 minutes ahead stands for waiting).
    const t = await startTestApp(env, { clock: new FakeClock(Date.now() + 3 * 60_000) });
    try {
      const service = t.app.get(BackupService);
      const run = await service.run('manual');
      expect(run).toMatchObject({ status: 'succeeded', verifyStatus: 'passed' });
      expect(readdirSync(folder).sort()).toEqual([run.objectKey!.split('/')[1], `${run.objectKey!.split('/')[1]}.manifest.json`]);
      const history = await service.list();
      expect(history.map((r) => [r.status, r.error])).toEqual([
        ['succeeded', null],
        ['failed', 'interrupted: the process running it stopped before it finished'],
      ]);
    } finally {
      await t.close();
    }
  });
});
