import { open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Puts a fully written file in place under its final name: its bytes are
 * flushed to disk, it is renamed over `target` (atomic within one file
 * system), and the folder is flushed so that the rename survives a crash. A
 * reader, or a restart after power loss, sees the whole file or none; never
 * a half-written one under the final name.
 */
export async function commitFile(partial: string, target: string): Promise<void> {
  await syncPath(partial, 'r+');
  await rename(partial, target);
  await syncPath(dirname(target), 'r');
}

async function syncPath(path: string, flags: 'r' | 'r+'): Promise<void> {
  const handle = await open(path, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
