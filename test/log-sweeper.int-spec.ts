import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { FakeClock } from '@kiroku/clock';
import { testConfig } from './support/test-app';
import { AzuriteServer, startAzurite, tempDir } from '@kiroku/testing';
import { azureDestination, LocalDestination, StorageDestination } from '../src/modules/storage';
import { LogSweeper } from '../src/modules/log-sweep';
import { ageKeyPair } from './support/backup-keys';
import { smallDisk } from './support/small-disk';

const DAY = 24 * 3_600_000;

/** Files as several earlier processes left them, each dated by its name; mtime at noon of its day. */
function pastProcessesWrote(dir: string): Record<string, string> {
  const contents: Record<string, string> = {};
  const file = (name: string, text: string, gz = false) => {
    const path = join(dir, name);
    writeFileSync(path, gz ? gzipSync(text) : text);
    const day = /(\d{4}-\d{2}-\d{2})/.exec(name)?.[1] ?? '2026-11-29';
    utimesSync(path, new Date(`${day}T12:00:00Z`), new Date(`${day}T12:00:00Z`));
    contents[name] = text;
  };
  file('app-2026-08-01.log.gz', '{"msg":"long ago"}\n', true);
  file('access-2026-08-30.log', '{"msg":"a process that died without compressing"}\n');
  file('app-2026-08-31.log', '{"msg":"exactly 90 days ago"}\n');
  file('error-2026-09-15.log.gz', '{"msg":"compressed by an earlier sweep"}\n', true);
  file('access-2026-11-28.log', '{"msg":"yesterday, closed"}\n'.repeat(1000));
  file('app-2026-11-29.log', '{"msg":"today, still being written"}\n');
  file('app-2026-11-20.log.gz.partial', 'half a gzip');
  file('notes.txt', 'not a log file: never touched');
  return contents;
}

function sweeperFor(dir: string, destination: StorageDestination, clock: FakeClock, recipient: string): LogSweeper {
  const config = testConfig({ LOG_DIR: dir, BACKUP_AGE_RECIPIENTS: recipient });
  return new LogSweeper(config.log, config.backup, config.alert, clock, destination);
}

let azurite: AzuriteServer;
beforeAll(async () => (azurite = await startAzurite()), 30_000);
afterAll(() => azurite?.stop());

describe.each([
  ['a local folder', () => new LocalDestination(tempDir())],
  ['Azure Blob Storage (Azurite)', () => azureDestination(azurite.connectionString, `logs-${Math.random().toString(16).slice(2, 10)}`)],
] as const)('the log sweeper, archiving to %s', (_label, makeDestination) => {
  it('compresses closed files, archives them encrypted, deletes exactly what is older than 90 days, and keeps doing so after a restart', async () => {
    const dir = tempDir();
    mkdirSync(dir, { recursive: true });
    const contents = pastProcessesWrote(dir);
    const destination = makeDestination();
    await destination.put('logs/app-2026-07-01.log.gz.age', Readable.from([Buffer.from('age-encryption.org/v1\nold archive')]));
    await destination.put('logs/unrelated/thing.bin', Readable.from([Buffer.from('not ours')]));
    const keys = await ageKeyPair();
    const clock = new FakeClock(Date.parse('2026-11-29T01:07:00Z'));

    const report = await sweeperFor(dir, destination, clock, keys.recipient).sweep();
    expect(report.problems).toEqual([]);
    expect(report.compressed.sort()).toEqual(['access-2026-11-28.log', 'app-2026-08-31.log']);
    expect(report.archived.sort()).toEqual(['logs/access-2026-11-28.log.gz.age', 'logs/app-2026-08-31.log.gz.age', 'logs/error-2026-09-15.log.gz.age']);
    expect(report.deleted.sort()).toEqual(['access-2026-08-30.log', 'app-2026-08-01.log.gz']);
    expect(report.deletedArchives).toEqual(['logs/app-2026-07-01.log.gz.age']);
    expect(report.emergency).toBe(false);
    expect(readdirSync(dir).sort()).toEqual([
      'access-2026-11-28.log.gz',
      'app-2026-08-31.log.gz',
      'app-2026-11-29.log',
      'error-2026-09-15.log.gz',
      'notes.txt',
    ]);
    expect((await destination.list('')).map((o) => o.key)).toEqual([
      'logs/access-2026-11-28.log.gz.age',
      'logs/app-2026-08-31.log.gz.age',
      'logs/error-2026-09-15.log.gz.age',
      'logs/unrelated/thing.bin',
    ]);

    // The archive is an age file the age tool alone opens, holding the day's lines.
    const archive = join(tempDir(), 'a.age');
    const chunks: Buffer[] = [];
    for await (const c of await destination.get('logs/access-2026-11-28.log.gz.age')) chunks.push(Buffer.from(c as Buffer));
    writeFileSync(archive, Buffer.concat(chunks));
    const age = spawnSync('age', ['--decrypt', '-i', keys.identityFile, archive]);
    expect(age.status).toBe(0);
    expect(gunzipSync(age.stdout).toString()).toBe(contents['access-2026-11-28.log']);

    // A new process (a restart) finds nothing more to do; a day later the 90-day line has moved by one day.
    const again = await sweeperFor(dir, destination, clock, keys.recipient).sweep();
    expect([again.compressed, again.archived, again.deleted, again.deletedArchives]).toEqual([[], [], [], []]);
    clock.advance(DAY);
    const dayLater = await sweeperFor(dir, destination, clock, keys.recipient).sweep();
    expect(dayLater.deleted).toEqual(['app-2026-08-31.log.gz']);
    expect(dayLater.deletedArchives).toEqual(['logs/app-2026-08-31.log.gz.age']);
    expect(dayLater.compressed).toEqual(['app-2026-11-29.log']);
    expect(existsSync(join(dir, 'notes.txt'))).toBe(true);
  });
});

describe('the log sweeper without backup encryption', () => {
  it('still compresses and prunes, and says archives are not written', async () => {
    const dir = tempDir();
    pastProcessesWrote(dir);
    const config = testConfig({ LOG_DIR: dir });
    const report = await new LogSweeper(
      config.log,
      config.backup,
      config.alert,
      new FakeClock(Date.parse('2026-11-29T01:07:00Z')),
      new LocalDestination(tempDir()),
    ).sweep();
    expect(report.compressed).toHaveLength(2);
    expect(report.archived).toEqual([]);
    expect(report.deleted).toHaveLength(2);
    expect(report.problems).toEqual([expect.stringMatching(/^log archives are not written: BACKUP_AGE_RECIPIENTS is unset/)]);
  });
});

describe('the log sweeper on a full disk', () => {
  it('switches to emergency mode: deletes compressed files oldest first until the disk is below the critical mark', async () => {
    const disk = smallDisk(1024, 'the log emergency-mode test');
    if (!disk) return;
    try {
      for (const day of ['2026-11-20', '2026-11-21', '2026-11-22', '2026-11-23']) writeFileSync(join(disk.path, `app-${day}.log.gz`), randomBytes(200 * 1024));
      const config = testConfig({ LOG_DIR: disk.path, ALERT_DISK_WARN: '0.4', ALERT_DISK_CRIT: '0.5' });
      const report = await new LogSweeper(
        config.log,
        config.backup,
        config.alert,
        new FakeClock(Date.parse('2026-11-29T01:07:00Z')),
        new LocalDestination(tempDir()),
      ).sweep({});
      expect(report.emergency).toBe(true);
      expect(report.emergencyDeleted).toEqual(['app-2026-11-20.log.gz', 'app-2026-11-21.log.gz']);
      expect(readdirSync(disk.path).sort()).toEqual(['app-2026-11-22.log.gz', 'app-2026-11-23.log.gz']);
    } finally {
      disk.unmount();
    }
  });
});
