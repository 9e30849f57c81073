import { BadCursor, decodeKeyset, type KeysetPosition } from '@kiroku/persistence';
import { isId } from './note-id';

export { BadCursor };

/**
 * The cursors of a note list, opaque to clients: "p", a place in a list: its
 * order, its part (the pinned notes, then the others) and the keyset position
 * (instant, id) in it; "k", the keyset position (created, id) of the lists of
 * earlier versions, newest created first, none pinned; "s", a place in a
 * search's results: the order asked for, the part of the results (relevance:
 * title and tags, then the rest) and the position in the search index's walk.
 */
export interface ListCursor {
  kind: 'p' | 'k' | 's';
  /** The cursor as the client sent it. */
  text: string;
  parts: string[];
}

/** The orders of a list (without searched words): last updated first (the default) or last created first; pinned notes first in both. */
export const LIST_ORDERS = ['updated', 'created'] as const;
export type ListOrder = (typeof LIST_ORDERS)[number];

/** Where a list goes on: its order, its part (0 the pinned notes, 1 the others) and the last note's instant in that order and id. */
export interface ListPosition extends KeysetPosition {
  order: ListOrder;
  part: number;
}

/** The orders of search results: relevance (the default) or newest first. */
export const SEARCH_SORTS = ['relevance', 'newest'] as const;
export type SearchSort = (typeof SEARCH_SORTS)[number];

/** Where a page of search results goes on: the part of the results (an index into the order's parts), the index position and the note's id. */
export interface SearchPosition {
  part: number;
  at: number;
  id: string;
}

/** The kind of a cursor; BadCursor when it is neither. Whether it fits the list asked for is checked by `listPositionOf` / `searchPositionOf`. */
export function readListCursor(cursor: string): ListCursor {
  const parts = Buffer.from(cursor, 'base64url').toString('utf8').split('\n');
  if (parts[0] !== 'p' && parts[0] !== 'k' && parts[0] !== 's') throw new BadCursor();
  return { kind: parts[0], text: cursor, parts };
}

/**
 * Where a list goes on; BadCursor for a search cursor, a damaged one, or one of another order than `order` (when
 * the request names one: a cursor carries its list's order, so the next page needs no `order`). An earlier
 * version's cursor ("k") goes on in order of creation among the notes not pinned.
 */
export function listPositionOf(cursor: ListCursor, order?: ListOrder): ListPosition {
  let position: ListPosition;
  if (cursor.kind === 'k') {
    position = { order: 'created', part: 1, ...decodeKeyset(cursor.text, isId) };
  } else {
    const [kind, o, part, at, id] = cursor.parts;
    const named = LIST_ORDERS.find((name) => name[0] === o);
    if (kind !== 'p' || !named || (part !== '0' && part !== '1') || !/^\d{1,15}$/.test(at ?? '') || id === undefined || !isId(id) || cursor.parts.length !== 5)
      throw new BadCursor();
    position = { order: named, part: Number(part), at: Number(at), id };
  }
  if (order && order !== position.order) throw new BadCursor();
  return position;
}

export function listCursor(position: ListPosition): string {
  return Buffer.from(['p', position.order[0], position.part, position.at, position.id].join('\n')).toString('base64url');
}

/** Where a search in this order goes on; BadCursor for a list cursor, one of the other order, or a damaged one. */
export function searchPositionOf(cursor: ListCursor, sort: SearchSort): SearchPosition {
  const [kind, order, part, at, id] = cursor.parts;
  const parts = sort === 'newest' ? 1 : 2;
  if (kind !== 's' || order !== sort[0] || !/^[0-9]$/.test(part ?? '') || Number(part) >= parts) throw new BadCursor();
  if (!/^-?\d{1,16}$/.test(at ?? '') || !Number.isSafeInteger(Number(at)) || id === undefined || !isId(id) || cursor.parts.length !== 5) throw new BadCursor();
  return { part: Number(part), at: Number(at), id };
}

export function searchCursor(sort: SearchSort, position: SearchPosition): string {
  return Buffer.from(['s', sort[0], position.part, position.at, position.id].join('\n')).toString('base64url');
}
