import { INestApplicationContext } from '@nestjs/common';
import { Command } from 'commander';
import { Database, Migrator } from '@kiroku/persistence';

import { CliEnv, CliFailure, inContext, out } from './context';

/** `kiroku migrate run|revert|show`: the database schema. */
export function registerMigrateCommands(program: Command, env: CliEnv): void {
  const migrate = program.command('migrate').description('database schema migrations');
  migrate.command('run').description('apply every pending migration (under a lock on PostgreSQL)').action(inContext(env, runMigrations));
  migrate.command('revert').description('revert the most recently applied migration').action(inContext(env, revertMigration));
  migrate.command('show').description('list migrations and whether each is applied; exit 1 while any is pending').action(inContext(env, showMigrations));
}

async function runMigrations(ctx: INestApplicationContext): Promise<void> {
  const applied = await ctx.get(Migrator).run();
  out(applied.length === 0 ? 'Schema is current: nothing to apply.' : applied.map((name) => `applied ${name}`).join('\n'));
}

async function revertMigration(ctx: INestApplicationContext): Promise<void> {
  const reverted = await ctx.get(Migrator).revert();
  out(reverted ? `reverted ${reverted}` : 'No migration is applied: nothing to revert.');
}

async function showMigrations(ctx: INestApplicationContext): Promise<void> {
  const migrator = ctx.get(Migrator);
  out(`${await ctx.get(Database).serverVersion()}`);
  const states = await migrator.status();
  for (const m of states) out(`${m.applied ? '[x]' : '[ ]'} ${m.name}`);
  for (const name of await migrator.unknownApplied()) out(`[?] ${name} (applied by a newer Kiroku)`);
  const pending = states.filter((m) => !m.applied).length;
  if (pending > 0) throw new CliFailure(`${pending} migration(s) pending: run \`kiroku migrate run\``);
}
