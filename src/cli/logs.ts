import { INestApplicationContext } from '@nestjs/common';
import { Command } from 'commander';
import { RetentionRegistry } from '@kiroku/persistence';

import { LogSweeper, type SweepReport } from '../modules/log-sweep';
import { CliEnv, CliFailure, inContext, out } from './context';

/** `kiroku logs archive|prune`: the hourly log sweeper, by hand. */
export function registerLogsCommands(program: Command, env: CliEnv): void {
  const logs = program.command('logs').description('log files under LOG_DIR: compress, archive, prune (the hourly sweeper, by hand)');
  logs
    .command('archive')
    .description('compress closed daily files and copy them, encrypted, to the backup destination')
    .action(inContext(env, async (ctx) => printSweep(await ctx.get(LogSweeper).sweep({ compress: true, archive: true }))));
  logs
    .command('prune')
    .description('delete log files and archives dated before LOG_RETENTION_DAYS, and database records past their retention (the daily prune-records task, now)')
    .action(inContext(env, prune, { everyRecordOwner: true }));
}

async function prune(ctx: INestApplicationContext): Promise<void> {
  for (const { name, deleted } of await ctx.get(RetentionRegistry).prune()) if (deleted) out(`deleted ${deleted} ${name} past retention`);
  printSweep(await ctx.get(LogSweeper).sweep({ prune: true }));
}

function printSweep(report: SweepReport): void {
  for (const name of report.compressed) out(`compressed ${name}`);
  for (const key of report.archived) out(`archived ${key}`);
  for (const name of report.deleted) out(`deleted ${name}`);
  for (const key of report.deletedArchives) out(`deleted archive ${key}`);
  if (report.emergency) out(`log disk past ALERT_DISK_CRIT: deleted ${report.emergencyDeleted.join(', ') || 'nothing more to delete'}`);
  if (![report.compressed, report.archived, report.deleted, report.deletedArchives].some((l) => l.length)) out('Nothing to do.');
  if (report.problems.length) throw new CliFailure(report.problems.join('; '));
}
