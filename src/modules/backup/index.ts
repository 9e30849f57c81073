export { BackupModule, BackupScheduleModule } from './backup.module';
export { BackupBusy, BackupService, MANIFEST_SUFFIX, type Manifest } from './backup.service';
export { BackupRun } from './backup-run.entity';
export { BackupTask } from './backup.task';
export { formatBytes, STREAM_CHUNK } from './streams';
export { AGE_HEADER, backupKey, decrypt } from './age';
