import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { BlobServiceClient, ContainerClient, RestError } from '@azure/storage-blob';
import { checkKey, ObjectMissing, StorageDestination, StoredObject } from './destination';

/** Blocks of 8 MiB: a 1 GiB backup is 128 blocks, well under Azure's 50,000. */
const BLOCK_BYTES = 8 << 20;

/**
 * Azure Blob Storage (BACKUP_AZURE_CONNECTION_STRING, BACKUP_AZURE_CONTAINER).
 * A put stages blocks (each checked by Azure against its MD5) and commits the
 * block list only after the whole stream was read: until then the blob does
 * not exist, and Azure discards uncommitted blocks by itself after a week.
 */
export class AzureDestination implements StorageDestination {
  readonly kind = 'azure';
  private readonly container: ContainerClient;
  private ready?: Promise<unknown>;

  constructor(
    connectionString: string,
    private readonly containerName: string,
  ) {
    // A few quick retries: a destination that stays unreachable should fail the run in seconds, visibly, not hang it.
    const retryOptions = { maxTries: 3, retryDelayInMs: 500, maxRetryDelayInMs: 4000, tryTimeoutInMs: 120_000 };
    this.container = BlobServiceClient.fromConnectionString(connectionString, { retryOptions }).getContainerClient(containerName);
  }

  get description(): string {
    return `Azure container ${this.containerName}`;
  }

  async put(key: string, body: Readable): Promise<number> {
    await this.ensureContainer();
    const blob = this.container.getBlockBlobClient(checkKey(key));
    if (await blob.exists()) throw new Error(`${key} already exists`);
    const blocks: string[] = [];
    let size = 0;
    for await (const block of blocksOf(body)) {
      const id = Buffer.from(`${randomBytes(8).toString('hex')}-${String(blocks.length).padStart(6, '0')}`).toString('base64');
      await blob.stageBlock(id, block, block.length, { transactionalContentMD5: createHash('md5').update(block).digest() });
      blocks.push(id);
      size += block.length;
    }
    // If-None-Match: * — never replace a blob another writer committed meanwhile.
    await blob.commitBlockList(blocks, { conditions: { ifNoneMatch: '*' }, blobHTTPHeaders: { blobContentType: 'application/octet-stream' } });
    return size;
  }

  async get(key: string): Promise<Readable> {
    try {
      const response = await this.container.getBlobClient(checkKey(key)).download();
      return response.readableStreamBody as Readable;
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) throw new ObjectMissing(key);
      throw error;
    }
  }

  async list(prefix: string): Promise<StoredObject[]> {
    await this.ensureContainer();
    const out: StoredObject[] = [];
    for await (const blob of this.container.listBlobsFlat({ prefix })) out.push({ key: blob.name, size: blob.properties.contentLength ?? 0 });
    return out.sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  async delete(key: string): Promise<void> {
    await this.container.getBlobClient(checkKey(key)).deleteIfExists();
  }

  /** Uncommitted blocks are invisible and expire on Azure's side: nothing to remove. */
  cleanup(): Promise<number> {
    return Promise.resolve(0);
  }

  private ensureContainer(): Promise<unknown> {
    this.ready ??= this.container.createIfNotExists().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }
}

/** The stream cut into blocks of BLOCK_BYTES (the last one shorter). */
async function* blocksOf(body: Readable): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let length = 0;
  for await (const chunk of body) {
    let buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    while (length + buffer.length >= BLOCK_BYTES) {
      const take = BLOCK_BYTES - length;
      parts.push(buffer.subarray(0, take));
      yield Buffer.concat(parts);
      buffer = buffer.subarray(take);
      parts = [];
      length = 0;
    }
    if (buffer.length) {
      parts.push(buffer);
      length += buffer.length;
    }
  }
  if (length) yield Buffer.concat(parts);
}
