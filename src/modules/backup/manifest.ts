import type { SnapshotFacts } from './snapshot';

/** What is written beside each backup as `<object>.manifest.json`: enough to list, check and restore it without the database. */
export interface Manifest {
  format: 'kiroku-backup/1';
  id: string;
  object: string;
  startedAt: string;
  finishedAt: string;
  appVersion: string;
  engine: string;
  serverVersion: string;
  schemaVersion: string;
  /** gzip (a SQLite database file, gzip-compressed) or pg_dump-custom */
  content: 'sqlite+gzip' | 'pg_dump-custom';
  encryption: string;
  keyFingerprint: string;
  plainBytes: number;
  plainSha256: string;
  storedBytes: number;
  storedSha256: string;
  rowCounts: Record<string, number>;
}

export const MANIFEST_SUFFIX = '.manifest.json';

/** Throws unless the restored copy holds the rows and schema the backup recorded. */
export function compareFacts(restored: SnapshotFacts, expected: SnapshotFacts): void {
  if (restored.schemaVersion !== expected.schemaVersion)
    throw new Error(`schema version ${restored.schemaVersion} restored, ${expected.schemaVersion} expected`);
  const tables = new Set([...Object.keys(restored.rowCounts), ...Object.keys(expected.rowCounts)]);
  const off = [...tables].filter((t) => restored.rowCounts[t] !== expected.rowCounts[t]);
  if (off.length)
    throw new Error(
      `rows differ: ${off.map((t) => `${t} ${restored.rowCounts[t] ?? 'missing'} restored, ${expected.rowCounts[t] ?? 'none'} expected`).join('; ')}`,
    );
}
