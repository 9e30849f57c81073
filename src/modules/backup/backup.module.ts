import { Module } from '@nestjs/common';
import { MetricsModule } from '../metrics';
import { StorageModule } from '../storage';
import { BackupCatalog } from './backup-catalog.repository';
import { BackupSource } from './backup-source';
import { BackupMetrics } from './backup.metrics';
import { BackupService } from './backup.service';
import { BackupTask } from './backup.task';

/** Backups as a service (the CLI uses this), with the catalog's figures on /metrics. */
@Module({
  imports: [StorageModule, MetricsModule],
  providers: [BackupCatalog, BackupSource, BackupService, BackupMetrics],
  exports: [BackupService],
})
export class BackupModule {}

/** Backups on their schedule (the server uses this). */
@Module({
  imports: [BackupModule],
  providers: [BackupTask],
  exports: [BackupModule],
})
export class BackupScheduleModule {}
