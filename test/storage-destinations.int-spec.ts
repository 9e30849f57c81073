import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { AzuriteServer, startAzurite, tempDir } from '@kiroku/testing';
import { azureDestination, LocalDestination, ObjectMissing, StorageDestination } from '../src/modules/storage';

async function bytesOf(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(Buffer.from(c as Buffer));
  return Buffer.concat(parts);
}

/** A body that yields `good` bytes and then fails, as a snapshot or an encryption that breaks midway would. */
function failingBody(good: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= good) return this.destroy(new Error('source broke midway'));
      const chunk = randomBytes(Math.min(1 << 20, good - sent));
      sent += chunk.length;
      this.push(chunk);
    },
  });
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** One contract, every destination. */
function contract(name: string, make: () => Promise<StorageDestination>) {
  describe(`backup destination contract: ${name}`, () => {
    let dest: StorageDestination;
    beforeEach(async () => (dest = await make()));

    it('stores a stream and gives the same bytes back, listed with its size', async () => {
      const data = randomBytes(3 * 1024 * 1024 + 17);
      expect(await dest.put('backups/a.age', Readable.from([data]))).toBe(data.length);
      expect(sha(await bytesOf(await dest.get('backups/a.age')))).toBe(sha(data));
      expect(await dest.list('backups/')).toEqual([{ key: 'backups/a.age', size: data.length }]);
      expect(await dest.list('logs/')).toEqual([]);
    });

    it('stores an object larger than one upload block (20 MiB) intact', async () => {
      const data = randomBytes(20 * 1024 * 1024 + 5);
      await dest.put('backups/big.age', Readable.from([data.subarray(0, 7), data.subarray(7)]));
      expect(sha(await bytesOf(await dest.get('backups/big.age')))).toBe(sha(data));
    });

    it('leaves nothing under the key when the stream fails midway, and a later put succeeds', async () => {
      await expect(dest.put('backups/broken.age', failingBody(9 * 1024 * 1024))).rejects.toThrow('source broke midway');
      expect(await dest.list('')).toEqual([]);
      await expect(dest.get('backups/broken.age')).rejects.toBeInstanceOf(ObjectMissing);
      await dest.put('backups/broken.age', Readable.from([Buffer.from('age-encryption.org/v1 whole')]));
      expect((await bytesOf(await dest.get('backups/broken.age'))).toString()).toBe('age-encryption.org/v1 whole');
    });

    it('never overwrites an existing object', async () => {
      await dest.put('backups/one.age', Readable.from([Buffer.from('first')]));
      await expect(dest.put('backups/one.age', Readable.from([Buffer.from('second')]))).rejects.toThrow(/already exists/);
      expect((await bytesOf(await dest.get('backups/one.age'))).toString()).toBe('first');
    });

    it('deletes, and deleting a missing object is not an error', async () => {
      await dest.put('backups/gone.age', Readable.from([Buffer.from('x')]));
      await dest.delete('backups/gone.age');
      await dest.delete('backups/gone.age');
      expect(await dest.list('backups/')).toEqual([]);
    });

    it('refuses keys that could leave its folder or container', async () => {
      for (const key of ['../etc/passwd', '/abs.age', 'backups/../../x', 'a//b', '']) {
        await expect(dest.put(key, Readable.from([Buffer.from('x')]))).rejects.toThrow(/invalid object key/);
      }
    });
  });
}

contract('local folder', async () => new LocalDestination(tempDir()));

let azurite: AzuriteServer;
beforeAll(async () => (azurite = await startAzurite()), 30_000);
afterAll(() => azurite?.stop());
let containers = 0;
contract('Azure Blob Storage (Azurite)', async () => azureDestination(azurite.connectionString, `backups-${process.pid}-${containers++}`));

describe('Azure with a credential that cannot delete (what instances hold under BACKUP_MAINTENANCE=separate)', () => {
  it('stores, lists and reads back, and is refused a delete: only the maintenance job prunes', async () => {
    const container = `write-only-${process.pid}`;
    const dest = azureDestination(azurite.sasConnectionString('rwlac'), container);
    await dest.put('backups/a.age', Readable.from([Buffer.from('age-encryption.org/v1\n')]));
    expect(await dest.list('backups/')).toEqual([{ key: 'backups/a.age', size: 22 }]);
    await expect(dest.delete('backups/a.age')).rejects.toThrow(/AuthorizationPermissionMismatch|not authorized|403/i);
    expect(await dest.list('backups/')).toEqual([{ key: 'backups/a.age', size: 22 }]);
    const maintenance = azureDestination(azurite.sasConnectionString('rwdlac'), container);
    await maintenance.delete('backups/a.age');
    expect(await dest.list('backups/')).toEqual([]);
  });
});

describe('an unreachable Azure destination', () => {
  it('fails the put with a clear error', async () => {
    const dest = azureDestination(
      'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;',
      'x',
    );
    await expect(dest.put('backups/a.age', Readable.from([Buffer.from('x')]))).rejects.toThrow(/ECONNREFUSED|connect/);
  }, 60_000);
});

describe('the local folder', () => {
  it('does not list leftovers of interrupted writes, and removes those under the given prefix only', async () => {
    const root = tempDir();
    const dest = new LocalDestination(root);
    await dest.put('backups/kept.age', Readable.from([Buffer.from('x')]));
    await dest.put('logs/kept.age', Readable.from([Buffer.from('y')]));
    const { writeFileSync, readdirSync } = await import('node:fs');
    writeFileSync(`${root}/backups/.partial-abc-crashed.age`, 'half');
    writeFileSync(`${root}/logs/.partial-def-other-writer.age`, 'in progress');
    expect(await dest.list('')).toEqual([
      { key: 'backups/kept.age', size: 1 },
      { key: 'logs/kept.age', size: 1 },
    ]);
    expect(await dest.cleanup('backups/')).toBe(1);
    expect(readdirSync(`${root}/backups`)).toEqual(['kept.age']);
    expect(readdirSync(`${root}/logs`).sort()).toEqual(['.partial-def-other-writer.age', 'kept.age']);
  });
});
