import { BackupConfig } from '@kiroku/config';
import { resolve } from 'node:path';
import { AzureDestination } from './destinations/azure';
import { BackupDestination } from './destinations/destination';
import { LocalDestination } from './destinations/local';

/** Azure Blob Storage when BACKUP_AZURE_CONNECTION_STRING is set, otherwise the folder BACKUP_DIR. */
export function backupDestination(config: BackupConfig): BackupDestination {
  if (config.azureConnectionString) return new AzureDestination(config.azureConnectionString, config.azureContainer);
  return new LocalDestination(resolve(config.dir));
}
