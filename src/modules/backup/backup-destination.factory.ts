import { resolve } from 'node:path';
import { BackupConfig } from '@kiroku/config';
import type { AzureDestination } from './destinations/azure';
import { BackupDestination } from './destinations/destination';
import { LocalDestination } from './destinations/local';

/**
 * Azure Blob Storage when BACKUP_AZURE_CONNECTION_STRING is set, otherwise the
 * folder BACKUP_DIR. The Azure SDK (~20 MiB resident) is loaded only when used.
 */
export function backupDestination(config: BackupConfig): BackupDestination {
  if (config.azureConnectionString) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { AzureDestination: Azure } = require('./destinations/azure') as { AzureDestination: typeof AzureDestination };
    return new Azure(config.azureConnectionString, config.azureContainer);
  }
  return new LocalDestination(resolve(config.dir));
}
