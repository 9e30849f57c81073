import { statfs } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { DatabaseConfig } from '@kiroku/config';

/** Share of the file system in use, as `df` counts it (space reserved for root excluded). */
export async function diskUsage(path: string): Promise<{ used: number; freeBytes: number; totalBytes: number }> {
  const s = await statfs(path);
  const used = s.blocks - s.bfree;
  return { used: used / (used + s.bavail), freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
}

/** The folder of the SQLite database, whose disk this instance writes to; null on PostgreSQL (that disk is the server's). */
export function dataFolder(database: DatabaseConfig): string | null {
  return database.engine === 'sqlite' ? dirname(resolve(database.path)) : null;
}
