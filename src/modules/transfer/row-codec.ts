import { createHash, Hash } from 'node:crypto';
import { Engine } from '@kiroku/persistence';
import { ColumnKind, PlannedTable } from './table-plan';

/** A value as the drivers read it from a column of a copied table (see table-plan's kinds; SQLite integers as BigInt). */
export type ColumnValue = string | number | bigint | boolean | Buffer | null;

/** A value as an archive line holds it: canonical, engine-independent JSON. */
export type CanonicalValue = string | number | boolean | null;

/**
 * One row as its canonical line: a JSON array in the table's column order.
 * Integers beyond 2^53 travel as decimal strings (JSON numbers would round
 * them), binary values as base64, booleans as true/false whatever the engine
 * stores. The same row gives the same bytes on SQLite and PostgreSQL: that is
 * what makes the per-table hashes comparable across engines.
 */
export function encodeRow(table: PlannedTable, row: Record<string, ColumnValue>): string {
  return `${JSON.stringify(table.columns.map((c) => canonical(c.kind, row[c.name], table.name, c.name)))}\n`;
}

function canonical(kind: ColumnKind, value: ColumnValue | undefined, table: string, column: string): CanonicalValue {
  if (value === null || value === undefined) return null;
  switch (kind) {
    case 'text':
      return String(value);
    case 'integer': {
      const big = typeof value === 'bigint' ? value : BigInt(value as string | number);
      return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big.toString();
    }
    case 'boolean':
      return value === true || value === 1 || value === 1n || value === 't' || value === 'true';
    case 'real':
      return Number(value);
    case 'binary':
      if (!Buffer.isBuffer(value)) throw new Error(`${table}.${column}: expected binary data, got ${typeof value}`);
      return value.toString('base64');
  }
}

/** A canonical line back to the values to bind on `engine`, checked against the table's columns. */
export function decodeRow(table: PlannedTable, line: string, engine: Engine): unknown[] {
  let values: unknown;
  try {
    values = JSON.parse(line);
  } catch {
    throw new Error(`${table.name}: a line is not valid JSON`);
  }
  if (!Array.isArray(values) || values.length !== table.columns.length) throw new Error(`${table.name}: a line does not have ${table.columns.length} values`);
  return table.columns.map((c, i) => bindable(c.kind, values[i], engine, table.name, c.name));
}

function bindable(kind: ColumnKind, value: unknown, engine: Engine, table: string, column: string): unknown {
  if (value === null) return null;
  const wrong = () => new Error(`${table}.${column}: ${JSON.stringify(value).slice(0, 40)} is not a valid ${kind} value`);
  switch (kind) {
    case 'text':
      if (typeof value !== 'string') throw wrong();
      return value;
    case 'integer':
      if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
      if (typeof value === 'string' && /^-?\d{1,19}$/.test(value)) return engine === 'sqlite' ? BigInt(value) : value;
      throw wrong();
    case 'boolean':
      if (typeof value !== 'boolean') throw wrong();
      return engine === 'sqlite' ? (value ? 1 : 0) : value;
    case 'real':
      if (typeof value !== 'number') throw wrong();
      return value;
    case 'binary':
      if (typeof value !== 'string') throw wrong();
      return Buffer.from(value, 'base64');
  }
}

/** Rows and the sha256 of their canonical lines, in key order: a table's content, comparable across engines. */
export class TableDigest {
  rows = 0;
  private readonly hash: Hash = createHash('sha256');

  add(line: string): void {
    this.rows++;
    this.hash.update(line);
  }

  get sha256(): string {
    return this.hash.copy().digest('hex');
  }
}
