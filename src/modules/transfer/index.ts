export { exportArchive, importArchive, ARCHIVE_FORMAT, ARCHIVE_VERSION, type ArchiveManifest, type ArchiveSettings } from './archive';
export { copyDatabase, formatComparison, COPY_MARKER_TABLE, type CopyReport, type TableComparison } from './db-copy';
export { databaseAt, Endpoint, tableLine, TransferRefused } from './endpoint';
export { TableDigest } from './row-codec';
export { columnKind, EXCLUDED_TABLES, planTables, type PlannedTable } from './table-plan';
