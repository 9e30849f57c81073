export { exportArchive, importArchive, ARCHIVE_FORMAT, ARCHIVE_VERSION, type ArchiveManifest } from './archive';
export { copyDatabase, formatComparison, COPY_MARKER_TABLE, type CopyReport, type TableComparison } from './db-copy';
export { Endpoint, tableLine, TransferRefused } from './endpoint';
export { EXCLUDED_TABLES, planTables, type PlannedTable } from './table-plan';
