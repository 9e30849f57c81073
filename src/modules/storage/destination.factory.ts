import { resolve } from 'node:path';
import { BackupConfig } from '@kiroku/config';
import type { AzureDestination } from './destinations/azure';
import { StorageDestination } from './destinations/destination';
import { LocalDestination } from './destinations/local';

/**
 * Azure Blob Storage when BACKUP_AZURE_CONNECTION_STRING is set, otherwise the
 * folder BACKUP_DIR.
 */
export function storageDestination(config: BackupConfig): StorageDestination {
  if (config.azureConnectionString) return azureDestination(config.azureConnectionString, config.azureContainer);
  return new LocalDestination(resolve(config.dir));
}

/** A container in Azure Blob Storage. The Azure SDK (~20 MiB resident) is loaded by the first call, not at start-up. */
export function azureDestination(connectionString: string, container: string): StorageDestination {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see above
  const { AzureDestination: Azure } = require('./destinations/azure') as { AzureDestination: typeof AzureDestination };
  return new Azure(connectionString, container);
}
