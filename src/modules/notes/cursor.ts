import { BadCursor, decodeKeyset, type KeysetPosition } from '@kiroku/persistence';
import { isId } from './note-id';

export { BadCursor };

/**
 * The cursors of a note list, opaque to clients: "k", a keyset position
 * (created, id), for lists newest first; "o", an offset, for search results
 * ranked by relevance (a rank has no position to continue from).
 */
export interface ListCursor {
  kind: 'k' | 'o';
  /** The cursor as the client sent it. */
  text: string;
  parts: string[];
}

/** The kind of a cursor; BadCursor when it is neither. Whether it fits the list asked for is checked by `keysetOf` / `offsetOf`. */
export function readListCursor(cursor: string): ListCursor {
  const parts = Buffer.from(cursor, 'base64url').toString('utf8').split('\n');
  if (parts[0] !== 'k' && parts[0] !== 'o') throw new BadCursor();
  return { kind: parts[0], text: cursor, parts };
}

/** Where a list newest first goes on; BadCursor for a search cursor or a damaged one. */
export function keysetOf(cursor: ListCursor): KeysetPosition {
  if (cursor.kind !== 'k') throw new BadCursor();
  return decodeKeyset(cursor.text, isId);
}

/** Beyond this many results, nobody is paging through a search. */
const MAX_OFFSET = 100_000;

/** How many ranked results the page skips; BadCursor for a list cursor or a damaged one. */
export function offsetOf(cursor: ListCursor): number {
  if (cursor.kind !== 'o') throw new BadCursor();
  const offset = Number(cursor.parts[1]);
  if (!Number.isInteger(offset) || offset < 0 || offset > MAX_OFFSET) throw new BadCursor();
  return offset;
}

export function offsetCursor(offset: number): string {
  return Buffer.from(['o', offset].join('\n')).toString('base64url');
}
