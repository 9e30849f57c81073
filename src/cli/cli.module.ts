import { DynamicModule, Module } from '@nestjs/common';
import { CoreModule, CoreOptions } from '../core.module';
import { AlertsModule } from '../modules/alerts';
import { AuditModule } from '../modules/audit';
import { AccountsModule } from '../modules/auth';
import { BackupModule } from '../modules/backup';
import { LogSweepModule } from '../modules/log-sweep';
import { NotesModule } from '../modules/notes';

export interface CliContextOptions {
  /**
   * Also load the modules that only own records (notes, alerts), so that every
   * pruner the serving app registers is registered here too: `kiroku logs
   * prune` runs what the daily prune-records task does. Other commands start
   * faster without them.
   */
  everyRecordOwner?: boolean;
}

/** The CLI's application context: the core and the services its commands use, without HTTP, schedules, start-up migrations or heartbeats. */
@Module({})
export class CliModule {
  static forRoot(options: CoreOptions, { everyRecordOwner = false }: CliContextOptions = {}): DynamicModule {
    return {
      module: CliModule,
      imports: [
        CoreModule.forRoot(options),
        AuditModule,
        AccountsModule,
        BackupModule,
        LogSweepModule,
        ...(everyRecordOwner ? [NotesModule, AlertsModule] : []),
      ],
    };
  }
}
