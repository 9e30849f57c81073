import type { SqlParam } from './database';

/** Where a page of a newest-first list ended: the last row's instant (epoch milliseconds) and id. */
export interface KeysetPosition {
  at: number;
  id: string;
}

/** The SQL names of a list's two ordering columns (`n.created_at`, `n.id`). */
export interface KeysetColumns {
  at: string;
  id: string;
}

/** A cursor this list did not hand out (or a damaged one). */
export class BadCursor extends Error {}

/** Opaque to clients: base64url of "k", the instant and the id, one per line. */
export function encodeKeyset(position: KeysetPosition): string {
  return Buffer.from(['k', position.at, position.id].join('\n')).toString('base64url');
}

/** The position a cursor of `encodeKeyset` holds; BadCursor unless it is one with a whole non-negative instant and an id `isId` accepts. */
export function decodeKeyset(cursor: string, isId: (id: string) => boolean = (id) => id.length > 0): KeysetPosition {
  const [kind, at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('\n');
  if (kind !== 'k' || !/^\d{1,15}$/.test(at ?? '') || id === undefined || !isId(id)) throw new BadCursor();
  return { at: Number(at), id };
}

/**
 * The SQL of one page of a list ordered newest first by (instant, id): the
 * condition for the rows after `after` (null on the first page) and the ORDER
 * BY and LIMIT, which asks for `limit + 1` rows (the one more tells whether
 * there is a next page; see keysetPage). Values are appended to `params` and
 * named `$n`, as `Database.select` takes them on both engines. The condition
 * is spelt out rather than as the row value `(at, id) < ($a, $b)`: both
 * engines walk the (…, at, id) index with it.
 */
export function keysetSql(
  columns: KeysetColumns,
  after: KeysetPosition | null,
  limit: number,
  params: SqlParam[],
): { where: string | null; orderAndLimit: string } {
  let where: string | null = null;
  if (after) {
    params.push(after.at, after.id);
    const [at, id] = [`$${params.length - 1}`, `$${params.length}`];
    where = `(${columns.at} < ${at} OR (${columns.at} = ${at} AND ${columns.id} < ${id}))`;
  }
  params.push(limit + 1);
  return { where, orderAndLimit: `ORDER BY ${columns.at} DESC, ${columns.id} DESC LIMIT $${params.length}` };
}

/** The page of rows read with `keysetSql` (up to `limit + 1`): the first `limit`, and the cursor of the next page when there is one. */
export function keysetPage<T>(rows: readonly T[], limit: number, positionOf: (row: T) => KeysetPosition): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  const nextCursor = rows.length > limit && items.length ? encodeKeyset(positionOf(items[items.length - 1])) : null;
  return { items, nextCursor };
}
