import { BadCursor, decodeKeyset, type KeysetPosition } from '@kiroku/persistence';
import { isId } from './note-id';

export { BadCursor };

/**
 * The cursors of a note list, opaque to clients: "k", a keyset position
 * (created, id), for lists newest first; "s", a place in a search's results:
 * the order asked for, the part of the results (relevance: title and tags,
 * then the rest) and the position in the search index's walk.
 */
export interface ListCursor {
  kind: 'k' | 's';
  /** The cursor as the client sent it. */
  text: string;
  parts: string[];
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

/** The kind of a cursor; BadCursor when it is neither. Whether it fits the list asked for is checked by `keysetOf` / `searchPositionOf`. */
export function readListCursor(cursor: string): ListCursor {
  const parts = Buffer.from(cursor, 'base64url').toString('utf8').split('\n');
  if (parts[0] !== 'k' && parts[0] !== 's') throw new BadCursor();
  return { kind: parts[0], text: cursor, parts };
}

/** Where a list newest first goes on; BadCursor for a search cursor or a damaged one. */
export function keysetOf(cursor: ListCursor): KeysetPosition {
  if (cursor.kind !== 'k') throw new BadCursor();
  return decodeKeyset(cursor.text, isId);
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
