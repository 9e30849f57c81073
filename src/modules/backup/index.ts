export { BackupModule, BackupScheduleModule } from './backup.module';
export { BackupBusy, backupScratchPrefix, BackupService, MANIFEST_SUFFIX, restoreInto, withClient, type BackupStatusFigures, type Manifest } from './backup.service';
export { BackupRun } from './backup-run.entity';
export { BackupTask } from './backup.task';
export { readManifests, restoreBackup, RestoreRefused } from './restore';
