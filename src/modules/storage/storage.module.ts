import { Module } from '@nestjs/common';
import { BackupConfig } from '@kiroku/config';
import { storageDestination } from './destination.factory';

/** Injection token of the one destination (BACKUP_DIR or Azure) that backups and log archives share. */
export const STORAGE_DESTINATION = Symbol('STORAGE_DESTINATION');

/** The object store where backups and log archives are kept, encrypted with the BACKUP_AGE_* settings. */
@Module({
  providers: [{ provide: STORAGE_DESTINATION, useFactory: storageDestination, inject: [BackupConfig] }],
  exports: [STORAGE_DESTINATION],
})
export class StorageModule {}
