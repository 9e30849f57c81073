import { Module } from '@nestjs/common';
import { AuthModule } from '../auth';
import { ClusterModule } from '../cluster';
import { BackupModule } from '../backup';
import { AlertsModule } from '../alerts';
import { MetricsModule } from '../metrics';
import { AdminController } from './admin.controller';
import { BackupsController } from './backups.controller';
import { LogsController } from './logs.controller';

@Module({ imports: [AuthModule, ClusterModule, BackupModule, AlertsModule, MetricsModule], controllers: [AdminController, BackupsController, LogsController] })
export class AdminModule {}
