import 'reflect-metadata';
import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Command, CommanderError } from 'commander';
import { checkDeployment, describeConfig, formatFinding, KirokuConfig, loadConfig } from '@kiroku/config';
import { Database, Migrator } from '@kiroku/persistence';
import pino from 'pino';
import { APP_VERSION, newInstanceId } from './app-info';
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
  return program;
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
