import { Module } from '@nestjs/common';
import { BackupConfig } from '@kiroku/config';
import { backupDestination } from './backup-destination.factory';
import { BACKUP_DESTINATION, BackupService } from './backup.service';
import { BackupTask } from './backup.task';

/** Backups as a service (the CLI uses this). */
@Module({
  providers: [BackupService, { provide: BACKUP_DESTINATION, useFactory: backupDestination, inject: [BackupConfig] }],
  exports: [BackupService, BACKUP_DESTINATION],
})
export class BackupModule {}

/** Backups on their schedule (the server uses this). */
@Module({
  imports: [BackupModule],
  providers: [BackupTask],
  exports: [BackupModule],
})
export class BackupScheduleModule {}
