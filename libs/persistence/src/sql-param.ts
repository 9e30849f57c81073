/** A bound value: instants travel as epoch milliseconds. */
export type SqlParam = string | number | null;

/** One statement of a write (`Database.executeAll`): its text, with `$1`…`$n`, and their values. */
export interface WriteStatement {
  sql: string;
  params?: readonly SqlParam[];
}
