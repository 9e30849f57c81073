import { Column, ColumnOptions, ValueTransformer } from 'typeorm';

/**
 * Instants are stored as integer milliseconds since the epoch (UTC) on both
 * engines: comparisons and keyset cursors behave identically on SQLite and
 * PostgreSQL, no time-zone setting can shift them, and a copy between
 * engines is byte-for-byte the same. PostgreSQL returns bigint as a string.
 */
export const epochMs: ValueTransformer = {
  to: (value: Date | null | undefined) => (value instanceof Date ? value.getTime() : value),
  from: (value: string | number | null) => (value === null || value === undefined ? value : new Date(Number(value))),
};

export function InstantColumn(options: Omit<ColumnOptions, 'type' | 'transformer'> = {}): PropertyDecorator {
  return Column({ ...options, type: 'bigint', transformer: epochMs });
}

/** bigint columns that hold counts or byte sizes well inside 2^53: numbers in the code, though PostgreSQL returns strings. */
export const bigintNumber: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value === null || value === undefined ? null : Number(value)),
};
