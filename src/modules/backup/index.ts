export { BackupModule, BackupScheduleModule } from './backup.module';
export { BackupBusy, BackupService, type BackupProblem, type BackupStatusFigures } from './backup.service';
export { backupScratchPrefix } from './backup-source';
export { MANIFEST_SUFFIX, type Manifest } from './manifest';
export { BackupRun } from './backup-run.entity';
export { BackupTask } from './backup.task';
export { readManifests, restoreBackup, restoreInto, RestoreRefused, withClient } from './restore';
