import { randomBytes } from 'node:crypto';
import { commitFile } from '../files';
import { STREAM_CHUNK } from '../streams';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { checkKey, ObjectMissing, StorageDestination, StoredObject } from './destination';

const PARTIAL = '.partial-';

/**
 * A folder on this machine (BACKUP_DIR). Writes go to a `.partial-` file in
 * the same folder, are flushed to disk, then renamed: a reader sees a whole
 * file or none.
 */
export class LocalDestination implements StorageDestination {
  readonly kind = 'local';

  constructor(private readonly root: string) {}

  get description(): string {
    return this.root;
  }

  async put(key: string, body: Readable): Promise<number> {
    const target = this.path(key);
    await mkdir(dirname(target), { recursive: true });
    if (await exists(target)) throw new Error(`${key} already exists`);
    const partial = join(dirname(target), `${PARTIAL}${randomBytes(6).toString('hex')}-${target.split(sep).pop()}`);
    try {
      await pipeline(body, createWriteStream(partial, { flags: 'wx' }));
      const { size } = await stat(partial);
      await commitFile(partial, target);
      return size;
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
  }

  async get(key: string): Promise<Readable> {
    const path = this.path(key);
    if (!(await exists(path))) throw new ObjectMissing(key);
    return createReadStream(path, { highWaterMark: STREAM_CHUNK });
  }

  async list(prefix: string): Promise<StoredObject[]> {
    const out: StoredObject[] = [];
    for (const path of await walk(this.root)) {
      const key = relative(this.root, path).split(sep).join('/');
      if (key.startsWith(prefix) && !key.split('/').pop()!.startsWith(PARTIAL)) out.push({ key, size: (await stat(path)).size });
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  async cleanup(prefix: string): Promise<number> {
    let removed = 0;
    for (const path of await walk(this.root)) {
      if (!path.split(sep).pop()!.startsWith(PARTIAL) || !relative(this.root, path).split(sep).join('/').startsWith(prefix)) continue;
      await unlink(path).catch(() => undefined);
      removed++;
    }
    return removed;
  }

  private path(key: string): string {
    return join(this.root, ...checkKey(key).split('/'));
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  const out: string[] = [];
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(path)));
    else if (e.isFile()) out.push(path);
  }
  return out;
}
