import { INestApplicationContext } from '@nestjs/common';
import { Command } from 'commander';
import { loadConfig } from '@kiroku/config';

import { BackupBusy, BackupService, readManifests, restoreBackup, RestoreRefused } from '../modules/backup';
import { formatBytes, storageDestination } from '../modules/storage';
import { CliEnv, CliFailure, inContext, out, rowsInTables, withContext } from './context';

/** `kiroku backup run|list|verify|restore|prune`: encrypted backups. */
export function registerBackupCommands(program: Command, env: CliEnv): void {
  const backup = program.command('backup').description('encrypted backups: make, list, verify, restore, prune');
  backup
    .command('run')
    .description('make a backup now (snapshot, compress, encrypt, store, verify, prune); exit 1 if it failed')
    .action(inContext(env, runBackup));
  backup
    .command('list')
    .description('list backup runs from the catalog, newest first (--destination: from the manifests in the destination, without the database)')
    .option('--destination', 'read the manifests stored beside the backups instead of the catalog')
    .action((opts: { destination?: boolean }) => (opts.destination ? listDestination(env) : withContext(env, listCatalog)));
  backup
    .command('verify')
    .description('check a stored backup again (with an identity: decrypt and restore it into a scratch database)')
    .argument('[id]', 'backup id, or its first 8+ characters')
    .option('--latest', 'the newest stored backup (what the maintenance job checks)')
    .option('--drill', 'refuse unless this machine can decrypt: a full restore drill, never only a checksum')
    .action((id: string | undefined, opts: { latest?: boolean; drill?: boolean }) => withContext(env, (ctx) => verifyBackup(ctx, id, opts)));
  backup
    .command('restore')
    .description('restore a backup into a new SQLite file or an empty PostgreSQL database (needs only the destination and the key)')
    .argument('<id>', 'backup id, or its first 8+ characters')
    .requiredOption('--to <target>', 'a new SQLite file path, or a postgres:// URL of an empty database')
    .option('--force', 'replace an existing file or a non-empty database')
    .action((id: string, opts: { to: string; force?: boolean }) => restore(env, id, opts));
  backup
    .command('prune')
    .description('delete backups past BACKUP_RETENTION_DAYS (never the newest verified one, never after a failed run)')
    .action(inContext(env, pruneBackups));
}

async function runBackup(ctx: INestApplicationContext): Promise<void> {
  const run = await ctx
    .get(BackupService)
    .run('manual')
    .catch((error: Error) => {
      if (error instanceof BackupBusy) throw new CliFailure(error.message);
      throw error;
    });
  if (run.status !== 'succeeded') throw new CliFailure(`backup ${run.id} failed: ${run.error}`);
  out(`backup ${run.id} stored as ${run.objectKey} (${formatBytes(run.storedBytes ?? 0)}; ${formatRows(run.rowCounts)})`);
  out(`verified: ${run.verifyStatus} (${run.verifyMode})${run.verifyError ? `: ${run.verifyError}` : ''}`);
  if (run.verifyStatus !== 'passed') throw new CliFailure(`backup ${run.id} was stored but failed verification`);
}

async function listDestination(env: CliEnv): Promise<void> {
  const config = loadConfig({ env });
  const manifests = await readManifests(storageDestination(config.backup));
  if (!manifests.length) out('No backups in the destination.');
  for (const m of manifests) out([m.id, m.startedAt, m.engine, m.schemaVersion, formatBytes(m.storedBytes), m.object].join('\t'));
}

async function listCatalog(ctx: INestApplicationContext): Promise<void> {
  const runs = await ctx.get(BackupService).list();
  if (!runs.length) out('No backup has run yet.');
  for (const r of runs) {
    const state = r.prunedAt ? 'pruned' : r.status;
    const verified = r.verifyStatus ? `verify ${r.verifyStatus} ${r.verifiedAt!.toISOString()}` : 'not verified';
    out([r.id, r.startedAt.toISOString(), state, r.storedBytes === null ? '-' : formatBytes(r.storedBytes), verified, r.error ?? r.objectKey ?? ''].join('\t'));
  }
}

async function verifyBackup(ctx: INestApplicationContext, id: string | undefined, opts: { latest?: boolean; drill?: boolean }): Promise<void> {
  const service = ctx.get(BackupService);
  if (!id === !opts.latest) throw new CliFailure('name a backup id, or --latest (not both)');
  if (opts.drill && !service.canDrill())
    throw new CliFailure('--drill: BACKUP_AGE_IDENTITY_FILE (or BACKUP_AGE_PASSPHRASE) is unset here, so only a checksum could be checked; mount the identity');
  const row = id ? await service.find(id) : await service.latestStored();
  if (!row) throw new CliFailure(id ? `no backup ${id} in the catalog` : 'no stored backup in the catalog yet');
  const checked = await service.verify(row.id);
  if (checked.verifyStatus !== 'passed') throw new CliFailure(`backup ${checked.id} failed verification (${checked.verifyMode}): ${checked.verifyError}`);
  out(`backup ${checked.id} verified (${checked.verifyMode}): ${formatRows(checked.rowCounts)}`);
}

/** Needs no application context: only the destination and the key, so a lost database can be restored. */
async function restore(env: CliEnv, id: string, opts: { to: string; force?: boolean }): Promise<void> {
  const config = loadConfig({ env });
  try {
    const { manifest, restored } = await restoreBackup(config.backup, config.database, id, opts.to, !!opts.force);
    out(`restored backup ${manifest.id} of ${manifest.startedAt} (${manifest.engine}, schema ${restored.schemaVersion})`);
    for (const [table, rows] of Object.entries(restored.rowCounts)) out(`  ${table}\t${rows} rows`);
  } catch (error) {
    if (error instanceof RestoreRefused) throw new CliFailure(error.message);
    throw new CliFailure(`restore failed, nothing was replaced: ${(error as Error).message}`);
  }
}

async function pruneBackups(ctx: INestApplicationContext): Promise<void> {
  const result = await ctx.get(BackupService).prune();
  if (result.held) out(`Nothing pruned: ${result.held}.`);
  else out(result.pruned.length ? result.pruned.map((id) => `pruned ${id}`).join('\n') : 'Nothing to prune.');
}

/** A run's row counts (JSON of table to rows) as `N rows in M tables`. */
function formatRows(rowCounts: string | null): string {
  return rowsInTables(Object.values(JSON.parse(rowCounts ?? '{}') as Record<string, number>));
}
