import { Command } from 'commander';
import { KirokuConfig, loadConfig } from '@kiroku/config';

import { copyDatabase, exportArchive, formatComparison, importArchive, tableLine, TransferRefused } from '../modules/transfer';
import { SCHEMA } from '../schema';
import { CliEnv, CliFailure, out, rowsInTables } from './context';

/** `kiroku export`, `kiroku import` and `kiroku db copy`: moving the whole database. */
export function registerTransferCommands(program: Command, env: CliEnv): void {
  program
    .command('export')
    .description('write the whole database to a portable archive (zip of JSON lines + manifest; docs/archive-format.md)')
    .requiredOption('--out <file>', 'the archive to write (a new file)')
    .option('--encrypt', 'encrypt the archive with the backup age settings (BACKUP_AGE_RECIPIENTS or BACKUP_AGE_PASSPHRASE)')
    .action(transfer('export', env, exportDatabase));
  program
    .command('import')
    .description('load a portable archive into the configured database, which must be empty; a damaged archive writes nothing')
    .argument('<file>', 'an archive written by `kiroku export` (encrypted ones are decrypted with the backup age settings)')
    .action(transfer('import', env, importDatabase));
  program
    .command('db')
    .description('moving data between databases')
    .command('copy')
    .description('copy every table from one database to a new one (SQLite file or postgres:// URL on either side), then verify counts and content hashes')
    .requiredOption('--from <source>', 'SQLite file path or postgres:// URL to read (env:NAME reads it from the variable NAME)')
    .requiredOption(
      '--to <target>',
      'SQLite file path or postgres:// URL of an empty (or half-copied) database to write (env:NAME: from the variable NAME, keeping a password out of `ps`)',
    )
    .option('--batch-size <rows>', 'rows per read and write', batchSize)
    .action(transfer('copy', env, (config, opts: { from: string; to: string; batchSize?: number }) => copy(config, env, opts)));
}

/**
 * A transfer command's action: `fn` gets the settings, then commander's arguments and options;
 * refusals and failures (of the settings too) become the one-line reason.
 */
function transfer<A extends unknown[]>(what: string, env: CliEnv, fn: (config: KirokuConfig, ...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      await fn(loadConfig({ env }), ...args);
    } catch (error) {
      if (error instanceof CliFailure) throw error;
      if (error instanceof TransferRefused) throw new CliFailure(error.message);
      throw new CliFailure(`${what} failed: ${(error as Error).message}`);
    }
  };
}

async function exportDatabase(config: KirokuConfig, opts: { out: string; encrypt?: boolean }): Promise<void> {
  const manifest = await exportArchive({ ...config, schema: SCHEMA }, opts.out, { encrypt: !!opts.encrypt });
  for (const t of manifest.tables) out(tableLine(t.name, t.rows));
  out(`exported ${rowsInTables(manifest.tables.map((t) => t.rows))} (schema ${manifest.schemaVersion}) to ${opts.out}${opts.encrypt ? ', encrypted' : ''}`);
}

async function importDatabase(config: KirokuConfig, file: string): Promise<void> {
  const manifest = await importArchive({ ...config, schema: SCHEMA }, file, { progress: out });
  out(`imported ${rowsInTables(manifest.tables.map((t) => t.rows))} (exported ${manifest.createdAt} from ${manifest.sourceEngine})`);
}

async function copy(config: KirokuConfig, env: CliEnv, opts: { from: string; to: string; batchSize?: number }): Promise<void> {
  const report = await copyDatabase(config.database, SCHEMA, fromEnv(opts.from, env), fromEnv(opts.to, env), { batch: opts.batchSize, progress: out });
  out();
  for (const line of formatComparison(report.tables)) out(line);
  const differing = report.tables.filter((t) => !t.matches);
  if (differing.length)
    throw new CliFailure(
      `the copy differs from the source in ${differing.map((t) => t.table).join(', ')}: the target is marked unfinished; run the same command again`,
    );
  out();
  out(`Copy verified: ${rowsInTables(report.tables.map((t) => t.targetRows))} match; search index rebuilt for ${report.searchIndexed} notes.`);
}

function batchSize(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new CliFailure('--batch-size must be an integer from 1 to 10000');
  return n;
}

/** `env:NAME` is the value of the variable NAME: a URL with a password does not belong on a command line others can read. */
function fromEnv(location: string, env: CliEnv): string {
  if (!location.startsWith('env:')) return location;
  const value = env[location.slice(4)];
  if (!value) throw new CliFailure(`${location.slice(4)} is not set (named by ${location})`);
  return value;
}
