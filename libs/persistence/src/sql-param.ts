/** A bound value: instants travel as epoch milliseconds. */
export type SqlParam = string | number | null;
