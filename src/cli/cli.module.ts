import { DynamicModule, Module } from '@nestjs/common';
import { CoreModule, CoreOptions } from '../core.module';
import { AuditModule } from '../modules/audit';
import { AccountsModule } from '../modules/auth';
import { BackupModule } from '../modules/backup';
import { AlertsModule } from '../modules/alerts';
import { LogSweepModule } from '../modules/log-sweep';
import { MetricsModule } from '../modules/metrics';
import { NotesModule } from '../modules/notes';

/**
 * The CLI's application context: the core and the services its commands use,
 * without HTTP, schedules, start-up migrations or heartbeats. Every module that
 * registers a pruner is here, so that `kiroku logs prune` prunes what the
 * daily task does.
 */
@Module({})
export class CliModule {
  static forRoot(options: CoreOptions): DynamicModule {
    return { module: CliModule, imports: [CoreModule.forRoot(options), AuditModule, AccountsModule, MetricsModule, NotesModule, AlertsModule, BackupModule, LogSweepModule] };
  }
}
