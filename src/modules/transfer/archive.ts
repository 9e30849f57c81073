import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { APP_VERSION, BackupConfig, DatabaseConfig } from '@kiroku/config';
import type { SchemaDefinition } from '@kiroku/persistence';
import yauzl from 'yauzl';
import yazl from 'yazl';
import { AGE_HEADER, commitFile, decrypt, encryptionKey, STREAM_CHUNK } from '../storage';
import { rebuildSearchIndex } from '../notes';
import { Endpoint, tableLine, TransferRefused } from './endpoint';
import { decodeRow, TableDigest } from './row-codec';
import { ColumnKind, EXCLUDED_TABLES, PlannedTable } from './table-plan';
import { lineBatches } from './zip-lines';

export const ARCHIVE_FORMAT = 'kiroku-archive';
export const ARCHIVE_VERSION = 1;
export const MANIFEST_ENTRY = 'manifest.json';

/** The longest line an importer accepts: a note body is at most 100,000 characters (≤ 400 kB in UTF-8), escaped in JSON. */
const MAX_LINE_BYTES = 8 * 1024 * 1024;
const MAX_MANIFEST_BYTES = 1024 * 1024;
const BATCH = 500;

export interface ArchiveTable {
  name: string;
  file: string;
  columns: Array<{ name: string; kind: ColumnKind }>;
  key: string[];
  rows: number;
  sha256: string;
}

/** manifest.json: see docs/archive-format.md. */
export interface ArchiveManifest {
  format: typeof ARCHIVE_FORMAT;
  version: number;
  createdAt: string;
  kirokuVersion: string;
  sourceEngine: string;
  schemaVersion: string;
  tables: ArchiveTable[];
  excluded: Record<string, string>;
}

export interface ArchiveSettings {
  database: DatabaseConfig;
  backup: BackupConfig;
  /** Every entity and migration: what the archive holds, and what an import migrates to. */
  schema: SchemaDefinition;
}

/**
 * Writes the configured database to `out` as a portable archive (a zip:
 * one JSON-lines file per table in dependency order, then the manifest with
 * row counts and sha256 per file), read from one consistent snapshot and
 * streamed: memory does not grow with the database. With `encrypt`, the zip
 * is encrypted with the backup age settings. The file appears only whole.
 */
export async function exportArchive(settings: ArchiveSettings, out: string, options: { encrypt?: boolean } = {}): Promise<ArchiveManifest> {
  const file = resolve(out);
  if (existsSync(file)) throw new TransferRefused(`${file} exists: choose a new file name`);
  if (!existsSync(dirname(file))) throw new TransferRefused(`the folder ${dirname(file)} does not exist`);
  const key = options.encrypt ? backupKeyOrRefuse(settings.backup) : undefined;
  const source = await Endpoint.open(settings.database, settings.schema, { exclusive: false, mustExist: true });
  const partial = join(dirname(file), `.partial-${randomBytes(6).toString('hex')}-${basename(file)}`);
  try {
    const schemaVersion = await source.schemaVersion();
    const zip = new yazl.ZipFile();
    const zipped = zip.outputStream as unknown as Readable;
    const written = pipeline(key ? await key.encrypt(zipped) : zipped, createWriteStream(partial, { flags: 'wx', highWaterMark: STREAM_CHUNK }));
    // A failed write (a full disk) must stop the producer below, not surface later as an unhandled rejection.
    const waiting: Array<() => void> = [];
    let writeFailure: Error | undefined;
    written.catch((error: Error) => {
      writeFailure = error;
      for (const wake of waiting.splice(0)) wake();
    });
    const tables: ArchiveTable[] = [];
    await source.beginSnapshot();
    try {
      for (const [i, table] of source.plan.entries()) {
        const name = `tables/${String(i + 1).padStart(2, '0')}-${table.name}.jsonl`;
        const entry = new PassThrough({ highWaterMark: STREAM_CHUNK });
        zip.addReadStream(entry, name, { mtime: new Date(0) });
        const digest = new TableDigest();
        for await (const lines of source.lines(table, BATCH)) {
          for (const line of lines) {
            digest.add(line);
            if (writeFailure) throw writeFailure;
            if (!entry.write(line)) {
              await new Promise<void>((done) => {
                entry.once('drain', done);
                waiting.push(done);
              });
              waiting.length = 0;
            }
          }
        }
        entry.end();
        tables.push({ name: table.name, file: name, columns: table.columns, key: table.key, rows: digest.rows, sha256: digest.sha256 });
      }
    } finally {
      await source.endSnapshot();
    }
    const manifest: ArchiveManifest = {
      format: ARCHIVE_FORMAT,
      version: ARCHIVE_VERSION,
      createdAt: new Date().toISOString(),
      kirokuVersion: APP_VERSION,
      sourceEngine: source.engine,
      schemaVersion,
      tables,
      excluded: { ...EXCLUDED_TABLES },
    };
    zip.addBuffer(Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), MANIFEST_ENTRY, { mtime: new Date(0) });
    zip.end();
    await written;
    await commitFile(partial, file);
    return manifest;
  } finally {
    await rm(partial, { force: true });
    await source.close();
  }
}

function backupKeyOrRefuse(config: BackupConfig) {
  try {
    return encryptionKey(config);
  } catch (error) {
    throw new TransferRefused((error as Error).message.replace('backups are never written unencrypted', '--encrypt needs a key'));
  }
}

/**
 * Loads an archive into the configured database, which must be empty (it is
 * migrated first). Everything is checked against the manifest (format,
 * schema, columns, row counts, sha256 of every table file) and written in one
 * transaction with the search index rebuilt: a damaged archive writes nothing.
 */
export async function importArchive(settings: ArchiveSettings, archive: string, options: { progress?: (line: string) => void } = {}): Promise<ArchiveManifest> {
  const progress = options.progress ?? (() => undefined);
  const file = resolve(archive);
  if (!existsSync(file)) throw new TransferRefused(`${file} does not exist`);
  let scratch: string | undefined;
  let zip: yauzl.ZipFile | undefined;
  let target: Endpoint | undefined;
  try {
    let zipFile = file;
    if (await startsWithAgeHeader(file)) {
      scratch = await mkdtemp(join(tmpdir(), 'kiroku-import-'));
      zipFile = join(scratch, 'archive.zip');
      try {
        await pipeline(await decrypt(settings.backup, createReadStream(file, { highWaterMark: STREAM_CHUNK })), createWriteStream(zipFile, { mode: 0o600 }));
      } catch (error) {
        throw new TransferRefused(`cannot decrypt ${file}: ${(error as Error).message}`);
      }
    }
    zip = await openZip(zipFile, file);
    const entries = new Map<string, yauzl.Entry>();
    try {
      for await (const entry of zip.eachEntry()) entries.set(entry.fileName, entry);
    } catch (error) {
      throw damaged(file, error);
    }
    const manifest = await readManifest(zip, entries, file);

    target = await Endpoint.open(settings.database, settings.schema, { exclusive: true });
    const schemaVersion = await target.migrate();
    if (manifest.schemaVersion !== schemaVersion)
      throw new TransferRefused(
        `the archive holds schema ${manifest.schemaVersion} but this Kiroku has ${schemaVersion}: import it with the Kiroku version that exported it`,
      );
    checkTables(manifest, target.plan, file);
    const filled = await target.filledTables();
    if (filled) throw new TransferRefused(`the database is not empty (${filled}): import into an empty database`);

    const t = target;
    const z = zip;
    await t.db.transaction(async (m) => {
      for (const [i, table] of t.plan.entries()) {
        const listed = manifest.tables[i];
        const entry = entries.get(listed.file);
        if (!entry) throw damaged(file, new Error(`${listed.file} is missing`));
        const digest = new TableDigest();
        try {
          for await (const lines of lineBatches(await z.openReadStreamPromise(entry), MAX_LINE_BYTES)) {
            const rows = lines.map((line) => {
              digest.add(`${line}\n`);
              return decodeRow(table, line, t.engine);
            });
            await t.insert(table, rows, (sql, params) => m.query(sql, params));
          }
        } catch (error) {
          if (error instanceof TransferRefused) throw error;
          // A database refusal (a duplicate key, a missing parent) also means the archive is not what its writer made.
          throw damaged(file, error, listed.file);
        }
        if (digest.rows !== listed.rows || digest.sha256 !== listed.sha256)
          throw damaged(file, new Error(`${listed.file} does not match its checksum in the manifest`));
        progress(tableLine(table.name, digest.rows));
      }
      await t.resetSequences((sql, params) => m.query(sql, params));
      const indexed = await rebuildSearchIndex(t.db, (fn) => fn(m));
      progress(`  search index     ${indexed} notes`);
    });
    return manifest;
  } finally {
    if (zip) zip.close();
    await target?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}

async function startsWithAgeHeader(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(AGE_HEADER.length);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return bytesRead === head.length && head.toString('latin1') === AGE_HEADER;
  } finally {
    await handle.close();
  }
}

async function openZip(zipFile: string, shownAs: string): Promise<yauzl.ZipFile> {
  try {
    return await yauzl.openPromise(zipFile, { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: true });
  } catch (error) {
    throw damaged(shownAs, error);
  }
}

async function readManifest(zip: yauzl.ZipFile, entries: Map<string, yauzl.Entry>, file: string): Promise<ArchiveManifest> {
  const entry = entries.get(MANIFEST_ENTRY);
  if (!entry) throw new TransferRefused(`${file} is not a Kiroku archive (no ${MANIFEST_ENTRY})`);
  if (entry.uncompressedSize > MAX_MANIFEST_BYTES) throw damaged(file, new Error('the manifest is too large'));
  let manifest: ArchiveManifest;
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of await zip.openReadStreamPromise(entry)) chunks.push(chunk as Buffer);
    manifest = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ArchiveManifest;
  } catch (error) {
    throw damaged(file, error, MANIFEST_ENTRY);
  }
  if (manifest?.format !== ARCHIVE_FORMAT) throw new TransferRefused(`${file} is not a Kiroku archive (format ${JSON.stringify(manifest?.format)})`);
  if (manifest.version !== ARCHIVE_VERSION)
    throw new TransferRefused(`${file} is archive format version ${manifest.version}; this Kiroku reads version ${ARCHIVE_VERSION}`);
  if (!Array.isArray(manifest.tables)) throw damaged(file, new Error('the manifest lists no tables'));
  return manifest;
}

/** The archive must hold exactly this build's tables, in its order, with its columns. */
function checkTables(manifest: ArchiveManifest, plan: PlannedTable[], file: string): void {
  const shape = (t: { name: string; columns: Array<{ name: string; kind: string }> }) => `${t.name}(${t.columns.map((c) => `${c.name} ${c.kind}`).join(', ')})`;
  const expected = plan.map(shape);
  const found = manifest.tables.map((t) => shape({ name: String(t.name), columns: Array.isArray(t.columns) ? t.columns : [] }));
  const differing = expected.find((s, i) => s !== found[i]) ?? found[expected.length];
  if (differing || found.length !== expected.length)
    throw new TransferRefused(`${file} does not hold the tables this Kiroku expects (first difference: ${differing ?? 'the number of tables'})`);
}

function damaged(file: string, error: unknown, entry?: string): TransferRefused {
  return new TransferRefused(`${file} is damaged or truncated${entry ? ` (${entry})` : ''}: ${(error as Error).message}; nothing was imported`);
}
