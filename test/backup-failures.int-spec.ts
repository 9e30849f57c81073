import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { AzuriteServer, startAzurite } from '@kiroku/testing';
import { BackupService } from '../src/modules/backup';
import { azureDestination } from '../src/modules/storage';
import { NotesService } from '../src/modules/notes';
import { Accounts } from '../src/modules/auth';
import { ageKeyPair } from './support/backup-keys';
import { smallDisk } from './support/small-disk';
import { AlertEvaluator } from '../src/modules/alerts';
import { describeEachEngine, freshDatabase, postgresAdminUrl } from './support/engines';
import { startTestApp, TestApp } from './support/test-app';

/** A user with `mb` MB of notes that do not compress (random text), so the backup outgrows a small disk. */
async function fill(t: TestApp, mb: number): Promise<void> {
  const created = await t.app
    .get(Accounts)
    .create({ email: `u${randomBytes(4).toString('hex')}@example.com`, displayName: 'U', password: 'a long enough passphrase' }, 'user');
  if (!('user' in created)) throw new Error('no user');
  for (let i = 0; i < mb * 20; i++)
    await t.app
      .get(NotesService)
      .create(created.user.id, { title: `filler ${i}`, body: randomBytes(37_000).toString('base64').slice(0, 50_000), tags: [], visibility: 'private' });
}

describeEachEngine('a backup destination that fails', (engine) => {
  it('a full disk fails the run visibly, keeps the older backups and leaves no partial file; the next run succeeds once there is room', async () => {
    const disk = smallDisk(3 * 1024, 'the disk-full backup test');
    if (!disk) return;
    const keys = await ageKeyPair();
    const t = await startTestApp({
      ...(await freshDatabase(engine)),
      BACKUP_DIR: disk.path,
      BACKUP_AGE_RECIPIENTS: keys.recipient,
      BACKUP_AGE_IDENTITY_FILE: keys.identityFile,
    });
    try {
      const backups = t.app.get(BackupService);
      const first = await backups.run('manual');
      expect(first.status).toBe('succeeded');
      await fill(t, 4);
      const failed = await backups.run('manual');
      expect(failed).toMatchObject({ status: 'failed', objectKey: null });
      expect(failed.error).toMatch(/ENOSPC|no space/i);
      expect(readdirSync(join(disk.path, 'backups')).sort()).toEqual([first.objectKey!.split('/')[1], `${first.objectKey!.split('/')[1]}.manifest.json`]);
      expect(await backups.prune()).toEqual({ pruned: [], held: 'the newest backup run failed' });

      disk.grow(32 * 1024); // the operator makes room
      const next = await backups.run('manual');
      expect(next).toMatchObject({ status: 'succeeded', error: null, verifyStatus: 'passed' });
      expect(readdirSync(join(disk.path, 'backups'))).toHaveLength(4);
    } finally {
      await t.close();
      disk.unmount();
    }
  });

  it('an unreachable Azure container fails the run visibly and the older backups are still there when it comes back', async () => {
    let azurite: AzuriteServer = await startAzurite();
    const keys = await ageKeyPair();
    const env = {
      ...(await freshDatabase(engine)),
      BACKUP_AZURE_CONNECTION_STRING: azurite.connectionString,
      BACKUP_AZURE_CONTAINER: 'kiroku-backups',
      BACKUP_AGE_RECIPIENTS: keys.recipient,
      BACKUP_AGE_IDENTITY_FILE: keys.identityFile,
    };
    const t = await startTestApp(env);
    try {
      const backups = t.app.get(BackupService);
      const first = await backups.run('manual');
      expect(first).toMatchObject({ status: 'succeeded', destination: 'azure', verifyStatus: 'passed' });

      await azurite.stop();
      const failed = await backups.run('manual');
      expect(failed).toMatchObject({ status: 'failed', objectKey: null });
      expect(failed.error).toMatch(/ECONNREFUSED|connect/);

      azurite = await startAzurite({ port: azurite.port, location: azurite.location });
      const objects = await azureDestination(azurite.connectionString, 'kiroku-backups').list('backups/');
      expect(objects.map((o) => o.key)).toEqual([first.objectKey, `${first.objectKey}.manifest.json`]);
      expect((await backups.verify(first.id)).verifyStatus).toBe('passed');
    } finally {
      await t.close();
      await azurite.stop();
    }
  });
});

describeEachEngine('backups on PostgreSQL', (engine) => {
  if (engine !== 'postgres') return;

  it('a backup stored whose restore drill fails (the role lost CREATEDB) is a failed run: backup-failing fires once, with the reason', async () => {
    const { Client } = await import('pg');
    const { tempDir } = await import('@kiroku/testing');
    const role = `kiroku_drill_${randomBytes(4).toString('hex')}`;
    const admin = new Client({ connectionString: postgresAdminUrl() });
    await admin.connect();
    try {
      // The app's own role, as in production: not a superuser, owner of its database, allowed to create the drill's.
      await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'drill' CREATEDB`);
      await admin.query(`CREATE DATABASE ${role} OWNER ${role}`);
      const url = new URL(postgresAdminUrl());
      Object.assign(url, { username: role, password: 'drill', pathname: `/${role}` });
      const keys = await ageKeyPair();
      const t = await startTestApp({
        DATABASE_URL: url.toString(),
        BACKUP_DIR: tempDir(),
        BACKUP_AGE_RECIPIENTS: keys.recipient,
        BACKUP_AGE_IDENTITY_FILE: keys.identityFile,
        ALERT_PENDING: '0s',
        METRICS_TOKEN: 'a metrics token of enough length',
      });
      try {
        const backups = t.app.get(BackupService);
        const alerts = t.app.get(AlertEvaluator);
        expect(await backups.run('manual')).toMatchObject({ status: 'succeeded', verifyStatus: 'passed', verifyMode: 'restore' });
        await alerts.evaluate();
        await admin.query(`ALTER ROLE ${role} NOCREATEDB`);
        const run = await backups.run('manual');
        expect(run).toMatchObject({ status: 'succeeded', verifyStatus: 'failed', verifyMode: 'restore' });
        expect(run.verifyError).toMatch(/permission denied to create database/);
        await alerts.evaluate();
        await alerts.evaluate();
        const failing = (await alerts.history()).filter((a) => a.rule === 'backup-failing');
        expect(failing).toHaveLength(1);
        expect(failing[0]).toMatchObject({ status: 'firing' });
        expect(failing[0].summary).toMatch(
          /^the newest backup cannot be trusted: the backup was stored but failed its verification \(restore\): .*permission denied/,
        );
        expect((await alerts.history()).filter((a) => a.rule === 'backup-stale')).toEqual([]); // the first backup, verified, is recent
        const metrics = await (await fetch(`${t.url}/metrics`, { headers: { authorization: 'Bearer a metrics token of enough length' } })).text();
        expect(metrics).toMatch(/kiroku_backup_last_run_failed\{[^}]*\} 1/);
        expect(metrics).toMatch(/kiroku_backup_last_verify_failed\{[^}]*\} 1/);
        expect(metrics).toMatch(/kiroku_backup_newest_verified_timestamp_seconds\{[^}]*\} \d+/);
      } finally {
        await t.close();
      }
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${role} WITH (FORCE)`).catch(() => undefined);
      await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
      await admin.end();
    }
  });

  it('refuse a pg_dump older than the server, saying which version to install, at start-up and in the run', async () => {
    const { mkdirSync, writeFileSync, chmodSync } = await import('node:fs');
    const { tempDir } = await import('@kiroku/testing');
    const bin = tempDir();
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'pg_dump'), '#!/bin/sh\necho "pg_dump (PostgreSQL) 12.22"\n');
    chmodSync(join(bin, 'pg_dump'), 0o755);
    const keys = await ageKeyPair();
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    try {
      const t = await startTestApp({ ...(await freshDatabase('postgres')), BACKUP_DIR: tempDir(), BACKUP_AGE_RECIPIENTS: keys.recipient });
      try {
        await t.logs.waitFor((l) => typeof l.msg === 'string' && l.msg.startsWith('backups will fail'));
        expect(t.logs.lines).toContainEqual(
          expect.objectContaining({
            level: 'warn',
            msg: 'backups will fail: pg_dump 12 is older than the PostgreSQL 15 server: install the version 15 client',
          }),
        );
        const run = await t.app.get(BackupService).run('manual');
        expect(run).toMatchObject({ status: 'failed', error: 'pg_dump 12 is older than the PostgreSQL 15 server: install the version 15 client' });
      } finally {
        await t.close();
      }
    } finally {
      process.env.PATH = path;
    }
  });
});
