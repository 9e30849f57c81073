import 'reflect-metadata';
import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Command, CommanderError } from 'commander';
import { APP_VERSION, checkDeployment, describeConfig, formatFinding, KirokuConfig, loadConfig, newInstanceId } from '@kiroku/config';
import { Database, Migrator, RetentionRegistry } from '@kiroku/persistence';
import pino from 'pino';
import { randomBytes } from 'node:crypto';

import { AuditTrail } from './modules/audit';
import { Accounts, ApiTokens } from './modules/auth';
import { BackupBusy, BackupService, readManifests, restoreBackup, RestoreRefused } from './modules/backup';
import { formatBytes, storageDestination } from './modules/storage';
import { translate } from './modules/web';
import { copyDatabase, exportArchive, formatComparison, importArchive, tableLine, TransferRefused } from './modules/transfer';
import { CliModule } from './cli/cli.module';
import { PinoLoggerService } from './modules/logs';
import { LogSweeper, type SweepReport } from './modules/log-sweep';
import { preflight, reportStartupError } from './preflight';
import { SCHEMA } from './schema';

/** A failure the CLI reports as one line and a non-zero exit code. */
class CliFailure extends Error {}

const out = (line = '') => process.stdout.write(`${line}\n`);

async function withContext<T>(config: KirokuConfig, fn: (ctx: INestApplicationContext) => Promise<T>): Promise<T> {
  // Commands print their own results and a one-line reason on failure; framework logs only with LOG_LEVEL=debug or trace, on stderr.
  const verbose = config.log.level === 'debug' || config.log.level === 'trace';
  const logger = pino({ level: verbose ? config.log.level : 'silent', base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination(2));
  const ctx = await NestFactory.createApplicationContext(CliModule.forRoot({ config, instanceId: `cli-${newInstanceId()}`, connectAttempts: 1 }), {
    logger: new PinoLoggerService(logger),
    abortOnError: false,
  });
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

export function buildProgram(env: Record<string, string | undefined> = process.env): Command {
  const program = new Command('kiroku')
    .description('Kiroku: self-hosted Markdown notes. Operator commands.')
    .version(APP_VERSION)
    .showHelpAfterError()
    .exitOverride();

  program
    .command('check')
    .description('list production-readiness findings for the current settings; exit 1 if any is an error')
    .action(() => {
      const config = loadConfig({ env });
      const findings = checkDeployment(config);
      if (findings.length === 0) out('No findings: the settings are production-ready.');
      for (const f of findings) out(formatFinding(f));
      const errors = findings.filter((f) => f.level === 'error').length;
      if (errors > 0) {
        out();
        throw new CliFailure(`${errors} error-level finding(s): production start-up would be refused`);
      }
    });

  program
    .command('config')
    .description('print the effective settings, secrets redacted')
    .action(() => {
      const config = loadConfig({ env });
      for (const s of describeConfig(config)) {
        out(`${s.name}=${s.value === undefined ? '' : Array.isArray(s.value) ? s.value.join(',') : String(s.value)}`);
      }
    });

  const migrate = program.command('migrate').description('database schema migrations');
  migrate
    .command('run')
    .description('apply every pending migration (under a lock on PostgreSQL)')
    .action(() =>
      withContext(preflight(env), async (ctx) => {
        const applied = await ctx.get(Migrator).run();
        out(applied.length === 0 ? 'Schema is current: nothing to apply.' : applied.map((name) => `applied ${name}`).join('\n'));
      }),
    );
  migrate
    .command('revert')
    .description('revert the most recently applied migration')
    .action(() =>
      withContext(preflight(env), async (ctx) => {
        const reverted = await ctx.get(Migrator).revert();
        out(reverted ? `reverted ${reverted}` : 'No migration is applied: nothing to revert.');
      }),
    );
  migrate
    .command('show')
    .description('list migrations and whether each is applied; exit 1 while any is pending')
    .action(() =>
      withContext(preflight(env), async (ctx) => {
        const migrator = ctx.get(Migrator);
        const db = ctx.get(Database);
        out(`${await db.serverVersion()}`);
        const states = await migrator.status();
        for (const m of states) out(`${m.applied ? '[x]' : '[ ]'} ${m.name}`);
        for (const name of await migrator.unknownApplied()) out(`[?] ${name} (applied by a newer Kiroku)`);
        const pending = states.filter((m) => !m.applied).length;
        if (pending > 0) throw new CliFailure(`${pending} migration(s) pending: run \`kiroku migrate run\``);
      }),
    );
  const users = program.command('users').description('accounts, for operators');
  users
    .command('create')
    .description('create an account (prints a generated password once unless --password-stdin)')
    .requiredOption('--email <email>', 'sign-in email')
    .requiredOption('--name <name>', 'display name')
    .option('--admin', 'make the account an administrator')
    .option('--password-stdin', 'read the password from standard input')
    .action((opts: { email: string; name: string; admin?: boolean; passwordStdin?: boolean }) =>
      withContext(preflight(env), async (ctx) => {
        const password = opts.passwordStdin ? await readStdin() : generatedPassword();
        const result = await ctx.get(Accounts).create({ email: opts.email, displayName: opts.name, password }, opts.admin ? 'admin' : 'user');
        if ('errors' in result) throw new CliFailure(describeErrors(result.errors));
        out(`created ${result.user.email} (${result.user.role}, id ${result.user.id})`);
        if (!opts.passwordStdin) out(`password: ${password}`);
      }),
    );
  users
    .command('reset-password')
    .description('set a new password and end every session of the account (prints a generated one unless --password-stdin)')
    .requiredOption('--email <email>', 'sign-in email')
    .option('--password-stdin', 'read the password from standard input')
    .action((opts: { email: string; passwordStdin?: boolean }) =>
      withContext(preflight(env), async (ctx) => {
        const accounts = ctx.get(Accounts);
        const user = await existingAccount(accounts, opts.email);
        const password = opts.passwordStdin ? await readStdin() : generatedPassword();
        const errors = await accounts.resetPassword(user.id, password);
        if (errors) throw new CliFailure(describeErrors(errors));
        out(`password reset for ${user.email}; every session of the account ended`);
        if (!opts.passwordStdin) out(`password: ${password}`);
      }),
    );
  for (const [name, disabled] of [['disable', true], ['enable', false]] as const) {
    users
      .command(name)
      .description(disabled ? 'disable an account and end its sessions' : 'enable a disabled account')
      .requiredOption('--email <email>', 'sign-in email')
      .action((opts: { email: string }) =>
        withContext(preflight(env), async (ctx) => {
          const accounts = ctx.get(Accounts);
          const user = await existingAccount(accounts, opts.email);
          await accounts.setDisabled(user.id, disabled, null);
          out(`${disabled ? 'disabled' : 'enabled'} ${user.email}`);
        }),
      );
  }
  users
    .command('list')
    .description('list accounts')
    .action(() =>
      withContext(preflight(env), async (ctx) => {
        for (const u of await ctx.get(Accounts).list()) {
          out(`${u.email}\t${u.role}\t${u.disabledAt ? 'disabled' : 'active'}\t${u.displayName}`);
        }
      }),
    );

  const backup = program.command('backup').description('encrypted backups: make, list, verify, restore, prune');
  backup
    .command('run')
    .description('make a backup now (snapshot, compress, encrypt, store, verify, prune); exit 1 if it failed')
    .action(() =>
      withContext(preflight(env), async (ctx) => {
        const run = await ctx.get(BackupService).run('manual').catch((error: Error) => {
          if (error instanceof BackupBusy) throw new CliFailure(error.message);
          throw error;
        });
        if (run.status !== 'succeeded') throw new CliFailure(`backup ${run.id} failed: ${run.error}`);
        out(`backup ${run.id} stored as ${run.objectKey} (${formatBytes(run.storedBytes ?? 0)}; ${formatRows(run.rowCounts)})`);
        out(`verified: ${run.verifyStatus} (${run.verifyMode})${run.verifyError ? `: ${run.verifyError}` : ''}`);
        if (run.verifyStatus !== 'passed') throw new CliFailure(`backup ${run.id} was stored but failed verification`);
      }),
    );
  backup
    .command('list')
    .description('list backup runs from the catalog, newest first (--destination: from the manifests in the destination, without the database)')
    .option('--destination', 'read the manifests stored beside the backups instead of the catalog')
    .action((opts: { destination?: boolean }) => {
      if (opts.destination) {
        const config = loadConfig({ env });
        return readManifests(storageDestination(config.backup)).then((manifests) => {
          if (!manifests.length) out('No backups in the destination.');
          for (const m of manifests) out([m.id, m.startedAt, m.engine, m.schemaVersion, formatBytes(m.storedBytes), m.object].join('\t'));
        });
      }
      return withContext(preflight(env), async (ctx) => {
        const runs = await ctx.get(BackupService).list();
        if (!runs.length) out('No backup has run yet.');
        for (const r of runs) {
          const state = r.prunedAt ? 'pruned' : r.status;
          const verified = r.verifyStatus ? `verify ${r.verifyStatus} ${r.verifiedAt!.toISOString()}` : 'not verified';
          out([r.id, r.startedAt.toISOString(), state, (r.storedBytes === null ? '-' : formatBytes(r.storedBytes)), verified, r.error ?? r.objectKey ?? ''].join('\t'));
        }
      });
    });
  backup
    .command('verify')
    .description('check a stored backup again (with an identity: decrypt and restore it into a scratch database)')
    .argument('<id>', 'backup id, or its first 8+ characters')
    .action((id: string) =>
      withContext(preflight(env), async (ctx) => {
        const service = ctx.get(BackupService);
        const row = await service.find(id);
        if (!row) throw new CliFailure(`no backup ${id} in the catalog`);
        const checked = await service.verify(row.id);
        if (checked.verifyStatus !== 'passed') throw new CliFailure(`backup ${checked.id} failed verification (${checked.verifyMode}): ${checked.verifyError}`);
        out(`backup ${checked.id} verified (${checked.verifyMode}): ${formatRows(checked.rowCounts)}`);
      }),
    );
  backup
    .command('restore')
    .description('restore a backup into a new SQLite file or an empty PostgreSQL database (needs only the destination and the key)')
    .argument('<id>', 'backup id, or its first 8+ characters')
    .requiredOption('--to <target>', 'a new SQLite file path, or a postgres:// URL of an empty database')
    .option('--force', 'replace an existing file or a non-empty database')
    .action(async (id: string, opts: { to: string; force?: boolean }) => {
      const config = loadConfig({ env });
      try {
        const { manifest, restored } = await restoreBackup(config.backup, config.database, id, opts.to, !!opts.force);
        out(`restored backup ${manifest.id} of ${manifest.startedAt} (${manifest.engine}, schema ${restored.schemaVersion})`);
        for (const [table, rows] of Object.entries(restored.rowCounts)) out(`  ${table}\t${rows} rows`);
      } catch (error) {
        if (error instanceof RestoreRefused) throw new CliFailure(error.message);
        throw new CliFailure(`restore failed, nothing was replaced: ${(error as Error).message}`);
      }
    });
  backup
    .command('prune')
    .description('delete backups past BACKUP_RETENTION_DAYS (never the newest verified one, never after a failed run)')
    .action(() =>
      withContext(preflight(env), async (ctx) => {
        const result = await ctx.get(BackupService).prune();
        if (result.held) out(`Nothing pruned: ${result.held}.`);
        else out(result.pruned.length ? result.pruned.map((id) => `pruned ${id}`).join('\n') : 'Nothing to prune.');
      }),
    );

  const logs = program.command('logs').description('log files under LOG_DIR: compress, archive, prune (the hourly sweeper, by hand)');
  const printSweep = (report: SweepReport) => {
    for (const name of report.compressed) out(`compressed ${name}`);
    for (const key of report.archived) out(`archived ${key}`);
    for (const name of report.deleted) out(`deleted ${name}`);
    for (const key of report.deletedArchives) out(`deleted archive ${key}`);
    if (report.emergency) out(`log disk past ALERT_DISK_CRIT: deleted ${report.emergencyDeleted.join(', ') || 'nothing more to delete'}`);
    if (![report.compressed, report.archived, report.deleted, report.deletedArchives].some((l) => l.length)) out('Nothing to do.');
    if (report.problems.length) throw new CliFailure(report.problems.join('; '));
  };
  logs
    .command('archive')
    .description('compress closed daily files and copy them, encrypted, to the backup destination')
    .action(() => withContext(preflight(env), async (ctx) => printSweep(await ctx.get(LogSweeper).sweep({ compress: true, archive: true }))));
  logs
    .command('prune')
    .description('delete log files and archives dated before LOG_RETENTION_DAYS, and database records past their retention (the daily prune-records task, now)')
    .action(() =>
      withContext(preflight(env), async (ctx) => {
        for (const { name, deleted } of await ctx.get(RetentionRegistry).prune()) if (deleted) out(`deleted ${deleted} ${name} past retention`);
        printSweep(await ctx.get(LogSweeper).sweep({ prune: true }));
      }),
    );

  program
    .command('export')
    .description('write the whole database to a portable archive (zip of JSON lines + manifest; docs/archive-format.md)')
    .requiredOption('--out <file>', 'the archive to write (a new file)')
    .option('--encrypt', 'encrypt the archive with the backup age settings (BACKUP_AGE_RECIPIENTS or BACKUP_AGE_PASSPHRASE)')
    .action((opts: { out: string; encrypt?: boolean }) =>
      transfer('export', async () => {
        const config = loadConfig({ env });
        const manifest = await exportArchive({ ...config, schema: SCHEMA }, opts.out, { encrypt: !!opts.encrypt });
        for (const t of manifest.tables) out(tableLine(t.name, t.rows));
        out(`exported ${manifest.tables.reduce((a, t) => a + t.rows, 0)} rows in ${manifest.tables.length} tables (schema ${manifest.schemaVersion}) to ${opts.out}${opts.encrypt ? ', encrypted' : ''}`);
      }),
    );
  program
    .command('import')
    .description('load a portable archive into the configured database, which must be empty; a damaged archive writes nothing')
    .argument('<file>', 'an archive written by `kiroku export` (encrypted ones are decrypted with the backup age settings)')
    .action((file: string) =>
      transfer('import', async () => {
        const config = loadConfig({ env });
        const manifest = await importArchive({ ...config, schema: SCHEMA }, file, { progress: out });
        out(`imported ${manifest.tables.reduce((a, t) => a + t.rows, 0)} rows in ${manifest.tables.length} tables (exported ${manifest.createdAt} from ${manifest.sourceEngine})`);
      }),
    );
  program
    .command('db')
    .description('moving data between databases')
    .command('copy')
    .description('copy every table from one database to a new one (SQLite file or postgres:// URL on either side), then verify counts and content hashes')
    .requiredOption('--from <source>', 'SQLite file path or postgres:// URL to read (env:NAME reads it from the variable NAME)')
    .requiredOption('--to <target>', 'SQLite file path or postgres:// URL of an empty (or half-copied) database to write (env:NAME: from the variable NAME, keeping a password out of `ps`)')
    .option('--batch-size <rows>', 'rows per read and write', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new CliFailure('--batch-size must be an integer from 1 to 10000');
      return n;
    })
    .action((opts: { from: string; to: string; batchSize?: number }) =>
      transfer('copy', async () => {
        const config = loadConfig({ env });
        const report = await copyDatabase(config.database, SCHEMA, fromEnv(opts.from, env), fromEnv(opts.to, env), { batch: opts.batchSize, progress: out });
        out();
        for (const line of formatComparison(report.tables)) out(line);
        const differing = report.tables.filter((t) => !t.matches);
        if (differing.length) throw new CliFailure(`the copy differs from the source in ${differing.map((t) => t.table).join(', ')}: the target is marked unfinished; run the same command again`);
        out();
        out(`Copy verified: ${report.tables.reduce((a, t) => a + t.targetRows, 0)} rows in ${report.tables.length} tables match; search index rebuilt for ${report.searchIndexed} notes.`);
      }),
    );

  program
    .command('tokens')
    .description('personal access tokens')
    .command('create')
    .description('create a token for an account and print it once')
    .requiredOption('--email <email>', 'the account the token acts as')
    .requiredOption('--name <name>', 'what the token is for')
    .action((opts: { email: string; name: string }) =>
      withContext(preflight(env), async (ctx) => {
        const user = await existingAccount(ctx.get(Accounts), opts.email);
        if (user.disabledAt) throw new CliFailure(`${user.email} is disabled`);
        const name = opts.name.trim();
        if (!name || [...name].length > 100) throw new CliFailure('--name must be 1 to 100 characters');
        const { token, row } = await ctx.get(ApiTokens).create(user.id, name);
        await ctx.get(AuditTrail).record('token.created', { userId: user.id, details: { tokenId: row.id, prefix: row.prefix, via: 'cli' } });
        out(token);
      }),
    );
  return program;
}

/** `env:NAME` is the value of the variable NAME: a URL with a password does not belong on a command line others can read. */
function fromEnv(location: string, env: Record<string, string | undefined>): string {
  if (!location.startsWith('env:')) return location;
  const value = env[location.slice(4)];
  if (!value) throw new CliFailure(`${location.slice(4)} is not set (named by ${location})`);
  return value;
}

/** Runs a transfer command: refusals and failures become the one-line reason. */
async function transfer(what: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (error) {
    if (error instanceof CliFailure) throw error;
    if (error instanceof TransferRefused) throw new CliFailure(error.message);
    throw new CliFailure(`${what} failed: ${(error as Error).message}`);
  }
}

async function existingAccount(accounts: Accounts, email: string) {
  const user = await accounts.findByEmail(email);
  if (!user) throw new CliFailure(`no account with the email ${email}`);
  return user;
}

function formatRows(rowCounts: string | null): string {
  const counts = JSON.parse(rowCounts ?? '{}') as Record<string, number>;
  return `${Object.values(counts).reduce((a, b) => a + b, 0)} rows in ${Object.keys(counts).length} tables`;
}

function generatedPassword(): string {
  return randomBytes(18).toString('base64url');
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

function describeErrors(errors: Record<string, string>): string {
  return Object.entries(errors).map(([field, key]) => `${field}: ${translate('en', key)}`).join('; ');
}

export async function runCli(argv: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  try {
    await buildProgram(env).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode; // commander printed help or the usage error
    if (error instanceof CliFailure) {
      process.stderr.write(`kiroku: ${error.message}\n`);
      return 1;
    }
    return reportStartupError(error, 'command');
  }
}

if (require.main === module) {
  // `kiroku backup list | head -1` closes the pipe early: that is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  runCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
