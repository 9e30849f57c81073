import { DynamicModule, Module } from '@nestjs/common';
import { SchedulerModule } from '@kiroku/scheduler';
import { CoreModule, CoreOptions } from './core.module';
import { AdminModule } from './modules/admin';
import { AlertsScheduleModule } from './modules/alerts';
import { ApiDocsModule } from './modules/api-docs';
import { AuditModule } from './modules/audit';
import { AuthModule } from './modules/auth';
import { BackupScheduleModule } from './modules/backup';
import { ClusterModule } from './modules/cluster';
import { HealthModule } from './modules/health';
import { LogSweepScheduleModule } from './modules/log-sweep';
import { MetricsEndpointModule } from './modules/metrics';
import { NotesModule } from './modules/notes';
import { WebModule } from './modules/web';

/** The serving app: every feature module, with the parts that only a server runs (routes, schedules, sampling). */
@Module({})
export class AppModule {
  static forRoot(options: CoreOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.forRoot(options),
        SchedulerModule,
        AuditModule,
        ClusterModule,
        HealthModule,
        WebModule,
        AuthModule,
        NotesModule,
        BackupScheduleModule,
        LogSweepScheduleModule,
        MetricsEndpointModule,
        AlertsScheduleModule,
        AdminModule,
        ApiDocsModule,
      ],
    };
  }
}
