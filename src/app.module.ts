import { DynamicModule, Module } from '@nestjs/common';
import { BackupScheduleModule } from './modules/backup';
import { LogSweepScheduleModule } from './modules/logs/log-sweep.module';
import { AlertsScheduleModule } from './modules/alerts/alerts.module';
import { MetricsModule } from './modules/metrics/metrics.module';
import { CoreModule, CoreOptions } from './core.module';
import { SchedulerModule } from '@kiroku/scheduler';
import { AdminModule } from './modules/admin/admin.module';
import { ApiDocsModule } from './modules/api-docs/api-docs.module';
import { AuditModule } from './modules/audit';
import { AuthModule } from './modules/auth';
import { ClusterModule } from './modules/cluster';
import { HealthModule } from './modules/health';
import { NotesModule } from './modules/notes';
import { WebModule } from './modules/web';

@Module({})
export class AppModule {
  static forRoot(options: CoreOptions): DynamicModule {
    return { module: AppModule, imports: [CoreModule.forRoot(options), SchedulerModule, AuditModule, ClusterModule, HealthModule, WebModule, AuthModule, NotesModule, BackupScheduleModule, LogSweepScheduleModule, MetricsModule, AlertsScheduleModule, AdminModule, ApiDocsModule] };
  }
}
