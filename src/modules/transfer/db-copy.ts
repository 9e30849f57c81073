import { DatabaseConfig } from '@kiroku/config';
import type { SchemaDefinition } from '@kiroku/persistence';
import { clearSearchIndex, rebuildSearchIndex } from '../notes';
import { databaseAt, Endpoint, quote, tableLine, TransferRefused } from './endpoint';
import { decodeRow, TableDigest } from './row-codec';
import { PlannedTable } from './table-plan';

/** Left in the target while a copy is under way: a later run recognises a partial copy by it and starts that target over. */
export const COPY_MARKER_TABLE = 'kiroku_copy_in_progress';

/** Rows read and written per round trip: large enough for throughput, small enough that 500 long notes stay a few MiB. */
export const COPY_BATCH = 500;

export interface TableComparison {
  table: string;
  sourceRows: number;
  targetRows: number;
  sourceSha256: string;
  targetSha256: string;
  matches: boolean;
}

export interface CopyReport {
  source: string;
  target: string;
  schemaVersion: string;
  tables: TableComparison[];
  searchIndexed: number;
  resumed: boolean;
}

export interface CopyOptions {
  batch?: number;
  /** Progress lines for people. */
  progress?: (line: string) => void;
}

/**
 * Copies every planned table from `from` to `to` (SQLite paths or postgres://
 * URLs): migrates the target, refuses a target that holds rows unless a
 * previous copy's marker says they are that copy's partial work (then clears
 * them and starts over), copies in batches from one consistent snapshot of
 * the source, rebuilds the target's search index, then compares row counts
 * and content hashes of both sides. The marker goes only once they match.
 */
export async function copyDatabase(base: DatabaseConfig, schema: SchemaDefinition, from: string, to: string, options: CopyOptions = {}): Promise<CopyReport> {
  const batch = options.batch ?? COPY_BATCH;
  const progress = options.progress ?? (() => undefined);
  const sourceConfig = databaseAt(base, from);
  const targetConfig = databaseAt(base, to);
  if ((sourceConfig.url ?? sourceConfig.path) === (targetConfig.url ?? targetConfig.path)) throw new TransferRefused('--from and --to name the same database');

  const source = await Endpoint.open(sourceConfig, schema, { exclusive: false, mustExist: true });
  let target: Endpoint | undefined;
  try {
    target = await Endpoint.open(targetConfig, schema, { exclusive: true });
    const schemaVersion = await source.schemaVersion();
    const targetVersion = await target.migrate();
    if (targetVersion !== schemaVersion) throw new TransferRefused(`the source is at schema ${schemaVersion} but the target at ${targetVersion}`);

    const resumed = await hasMarker(target);
    if (resumed) {
      progress(`${target.description} holds a copy that did not finish: clearing it and starting over`);
      await clearTables(target);
    } else {
      const filled = await target.filledTables();
      if (filled) throw new TransferRefused(`the target is not empty (${filled}): copy into a new database`);
    }
    await target.dataSource.query(`CREATE TABLE IF NOT EXISTS ${quote(COPY_MARKER_TABLE)} (source varchar(500) NOT NULL, started_at bigint NOT NULL)`);
    await target.dataSource.query(
      `INSERT INTO ${quote(COPY_MARKER_TABLE)} (source, started_at) VALUES (${target.db.placeholder(1)}, ${target.db.placeholder(2)})`,
      [source.description, Date.now()],
    );

    progress(`Copying ${source.description} → ${target.description} (schema ${schemaVersion})`);
    const sourceDigests = new Map<string, TableDigest>();
    await source.beginSnapshot();
    try {
      for (const table of source.plan) {
        const digest = await copyTable(source, target, table, batch);
        sourceDigests.set(table.name, digest);
        progress(tableLine(table.name, digest.rows));
      }
    } finally {
      await source.endSnapshot();
    }
    const t = target;
    for (const sequence of await t.resetSequences()) progress(`  sequence         ${sequence} reset`);
    const searchIndexed = await rebuildSearchIndex(t.db, (fn) => t.db.transaction(fn), batch);
    progress(`  search index     ${searchIndexed} notes`);

    const tables: TableComparison[] = [];
    for (const table of target.plan) {
      const digest = new TableDigest();
      for await (const lines of target.lines(table, batch)) for (const line of lines) digest.add(line);
      const before = sourceDigests.get(table.name)!;
      tables.push({
        table: table.name,
        sourceRows: before.rows,
        targetRows: digest.rows,
        sourceSha256: before.sha256,
        targetSha256: digest.sha256,
        matches: before.rows === digest.rows && before.sha256 === digest.sha256,
      });
    }
    const report: CopyReport = { source: source.description, target: target.description, schemaVersion, tables, searchIndexed, resumed };
    if (tables.every((c) => c.matches)) await target.dataSource.query(`DROP TABLE ${quote(COPY_MARKER_TABLE)}`);
    return report;
  } finally {
    await target?.close();
    await source.close();
  }
}

async function copyTable(source: Endpoint, target: Endpoint, table: PlannedTable, batch: number): Promise<TableDigest> {
  const digest = new TableDigest();
  for await (const lines of source.lines(table, batch)) {
    for (const line of lines) digest.add(line);
    const rows = lines.map((line) => decodeRow(table, line, target.engine));
    await target.db.transaction((m) => target.insert(table, rows, (sql, params) => m.query(sql, params)));
  }
  return digest;
}

async function hasMarker(target: Endpoint): Promise<boolean> {
  const runner = target.dataSource.createQueryRunner();
  try {
    return await runner.hasTable(COPY_MARKER_TABLE);
  } finally {
    await runner.release();
  }
}

/** Children first, so foreign keys hold at every step. */
async function clearTables(target: Endpoint): Promise<void> {
  await target.db.transaction(async (m) => {
    await clearSearchIndex(target.engine, m);
    for (const table of [...target.plan].reverse()) await m.query(`DELETE FROM ${quote(table.name)}`);
  });
}

/** The comparison as a table for the terminal. */
export function formatComparison(tables: TableComparison[]): string[] {
  const rows = [
    ['table', 'source rows', 'target rows', 'source sha256', 'target sha256', ''],
    ...tables.map((c) => [
      c.table,
      String(c.sourceRows),
      String(c.targetRows),
      c.sourceSha256.slice(0, 16),
      c.targetSha256.slice(0, 16),
      c.matches ? 'ok' : 'DIFFERS',
    ]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) =>
    r
      .map((cell, i) => (i === 1 || i === 2 ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd(),
  );
}
