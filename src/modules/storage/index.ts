export { StorageModule, STORAGE_DESTINATION } from './storage.module';
export { azureDestination, storageDestination } from './destination.factory';
export { ObjectMissing, type StorageDestination, type StoredObject } from './destinations/destination';
export { LocalDestination } from './destinations/local';
export { AGE_HEADER, canDecrypt, decrypt, encryptionKey, MissingEncryptionKey, type EncryptionKey } from './age';
export { commitFile } from './files';
export { formatBytes, Measure, RequireAgeHeader, STREAM_CHUNK } from './streams';
