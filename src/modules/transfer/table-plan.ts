import { DataSource } from 'typeorm';
import { EntityMetadata } from 'typeorm/metadata/EntityMetadata';

/** How a column's values travel in archives and copies: one canonical JSON form per kind, the same on both engines. */
export type ColumnKind = 'text' | 'integer' | 'boolean' | 'real' | 'binary';

export interface PlannedColumn {
  name: string;
  kind: ColumnKind;
}

export interface PlannedTable {
  name: string;
  columns: PlannedColumn[];
  /** Primary-key columns: the order rows are read, hashed and written in. */
  key: string[];
}

/**
 * Tables that are deliberately not exported or copied, each with the reason.
 * Every other entity of the schema is copied: a new entity is copied unless
 * someone writes it here, and a test fails if an entry names no entity.
 */
export const EXCLUDED_TABLES: Readonly<Record<string, string>> = {
  task_leases:
    'scheduler slots and leases of the running instances: the target cluster claims its own slots; copying them would make it skip or wait for work the old cluster held',
  instances: 'heartbeats of the processes running against the source: the target fills it as its own instances start',
  metric_samples:
    "per-minute figures of the source's own processes for the console charts, deleted after METRICS_HISTORY_DAYS anyway: the target's charts start with its own instances (alerts and their notifications are copied: they are the incident history)",
};

const KINDS: Record<string, ColumnKind> = {
  varchar: 'text',
  'character varying': 'text',
  text: 'text',
  char: 'text',
  character: 'text',
  uuid: 'text',
  bigint: 'integer',
  integer: 'integer',
  int: 'integer',
  smallint: 'integer',
  int8: 'integer',
  int4: 'integer',
  boolean: 'boolean',
  bool: 'boolean',
  real: 'real',
  float: 'real',
  double: 'real',
  'double precision': 'real',
  blob: 'binary',
  bytea: 'binary',
};

/** The kind of a column type, or an error that makes whoever adds an unknown type decide how it round-trips. */
export function columnKind(table: string, column: string, type: unknown): ColumnKind {
  const name = typeof type === 'string' ? type.toLowerCase() : typeof type === 'function' ? type.name.toLowerCase() : String(type);
  const kind = KINDS[name] ?? ({ string: 'text', number: 'real', boolean: 'boolean', buffer: 'binary' } as Record<string, ColumnKind>)[name];
  if (!kind)
    throw new Error(
      `${table}.${column}: column type ${name} has no archive encoding (add it to KINDS in src/modules/transfer/table-plan.ts with a round-trip test)`,
    );
  return kind;
}

/**
 * The copied tables of a data source's entities, parents before children (by
 * foreign keys), so rows can be inserted in order with constraints on.
 */
export function planTables(dataSource: DataSource): PlannedTable[] {
  const metas = dataSource.entityMetadatas.filter((m) => m.tableType === 'regular' && !(m.tableName in EXCLUDED_TABLES));
  const byName = new Map(metas.map((m) => [m.tableName, m]));
  const ordered: EntityMetadata[] = [];
  const visiting = new Set<string>();
  const visit = (m: EntityMetadata) => {
    if (ordered.includes(m)) return;
    if (visiting.has(m.tableName)) throw new Error(`foreign keys form a cycle through ${m.tableName}: the copy order cannot be derived`);
    visiting.add(m.tableName);
    for (const fk of m.foreignKeys) {
      const parent = byName.get(fk.referencedEntityMetadata.tableName);
      if (parent && parent !== m) visit(parent);
    }
    visiting.delete(m.tableName);
    ordered.push(m);
  };
  // Sorted by name first, so the order does not depend on how the entity list happens to be written.
  for (const m of [...metas].sort((a, b) => a.tableName.localeCompare(b.tableName))) visit(m);
  return ordered.map((m) => ({
    name: m.tableName,
    columns: m.columns.map((c) => ({ name: c.databaseName, kind: columnKind(m.tableName, c.databaseName, c.type) })),
    key: m.primaryColumns.map((c) => c.databaseName),
  }));
}
