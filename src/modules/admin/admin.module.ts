import { Module } from '@nestjs/common';
import { AuthModule } from '../auth';
import { ClusterModule } from '../cluster';
import { BackupModule } from '../backup';
import { AlertsModule } from '../alerts/alerts.module';
import { MetricsModule } from '../metrics/metrics.module';
import { MetricsHistory } from '../metrics/metrics-history';
import { AdminController } from './admin.controller';
import { BackupsController } from './backups.controller';
import { LogsController } from './logs.controller';

@Module({ imports: [AuthModule, ClusterModule, BackupModule, AlertsModule, MetricsModule], providers: [MetricsHistory], controllers: [AdminController, BackupsController, LogsController] })
export class AdminModule {}
