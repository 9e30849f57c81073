import 'reflect-metadata';
import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Command, CommanderError } from 'commander';
import { checkDeployment, describeConfig, formatFinding, KirokuConfig, loadConfig } from '@kiroku/config';
import { Database, Migrator } from '@kiroku/persistence';
import pino from 'pino';
import { randomBytes } from 'node:crypto';
import { APP_VERSION, newInstanceId } from './app-info';
import { AuditTrail } from './modules/audit';
import { Accounts, ApiTokens } from './modules/auth';
import { translate } from './modules/web/i18n';
import { CliModule } from './cli/cli.module';
import { PinoLoggerService } from './modules/logs';
import { preflight, reportStartupError } from './preflight';

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

async function existingAccount(accounts: Accounts, email: string) {
  const user = await accounts.findByEmail(email);
  if (!user) throw new CliFailure(`no account with the email ${email}`);
  return user;
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
  runCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
