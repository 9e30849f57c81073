import { DynamicModule, Module } from '@nestjs/common';
import { CoreModule, CoreOptions } from '../core.module';
import { AuditModule } from '../modules/audit';
import { AccountsModule } from '../modules/auth';
import { BackupModule } from '../modules/backup';
import { LogSweepModule } from '../modules/logs/log-sweep.module';

/** The CLI's application context: the core and the account services, without HTTP, schedules, start-up migrations or heartbeats. */
@Module({})
export class CliModule {
  static forRoot(options: CoreOptions): DynamicModule {
    return { module: CliModule, imports: [CoreModule.forRoot(options), AuditModule, AccountsModule, BackupModule, LogSweepModule] };
  }
}
