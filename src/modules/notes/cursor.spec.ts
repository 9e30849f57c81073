import { encodeKeyset } from '@kiroku/persistence';
import { BadCursor, listCursor, listPositionOf, readListCursor, searchCursor, searchPositionOf } from './cursor';

const id = '0b0e8c4a-7f7e-4e0a-9a55-3f1c2d9e8b11';
const raw = (text: string) => Buffer.from(text).toString('base64url');

describe('note list cursors', () => {
  it('a list cursor goes on after the note it names, in its order and part (pinned, then the others)', () => {
    for (const position of [
      { order: 'updated', part: 0, at: 1_767_225_600_000, id },
      { order: 'created', part: 1, at: 0, id },
    ] as const) {
      expect(listPositionOf(readListCursor(listCursor(position)))).toEqual(position);
      expect(listPositionOf(readListCursor(listCursor(position)), position.order)).toEqual(position);
    }
  });

  it("goes on with an earlier version's cursor in order of creation, among the notes not pinned", () => {
    expect(listPositionOf(readListCursor(encodeKeyset({ at: 1_767_225_600_000, id })))).toEqual({ order: 'created', part: 1, at: 1_767_225_600_000, id });
    expect(() => listPositionOf(readListCursor(encodeKeyset({ at: 1, id })), 'updated')).toThrow(BadCursor);
  });

  it('refuses a list cursor of the other order when the request names one', () => {
    expect(() => listPositionOf(readListCursor(listCursor({ order: 'updated', part: 1, at: 5, id })), 'created')).toThrow(BadCursor);
  });

  it('a search cursor goes on after the result it names, in its part of the results', () => {
    expect(searchPositionOf(readListCursor(searchCursor('relevance', { part: 1, at: 40, id })), 'relevance')).toEqual({ part: 1, at: 40, id });
    expect(searchPositionOf(readListCursor(searchCursor('newest', { part: 0, at: -5, id })), 'newest')).toEqual({ part: 0, at: -5, id });
  });

  it('refuses a cursor of neither kind at once', () => {
    expect(() => readListCursor('bogus')).toThrow(BadCursor);
    expect(() => readListCursor(raw(`x\n1\n${id}`))).toThrow(BadCursor);
  });

  it('refuses a cursor of the other kind: a search is not continued by a list cursor, nor a list by a search cursor, nor one order by the other', () => {
    expect(() => searchPositionOf(readListCursor(encodeKeyset({ at: 1, id })), 'relevance')).toThrow(BadCursor);
    expect(() => listPositionOf(readListCursor(searchCursor('relevance', { part: 0, at: 20, id })))).toThrow(BadCursor);
    expect(() => searchPositionOf(readListCursor(listCursor({ order: 'updated', part: 0, at: 20, id })), 'newest')).toThrow(BadCursor);
    expect(() => searchPositionOf(readListCursor(searchCursor('relevance', { part: 0, at: 20, id })), 'newest')).toThrow(BadCursor);
  });

  it.each([
    ['an id that is not a note id', raw('k\n15\nnot-an-id')],
    ['a negative instant', raw(`k\n-1\n${id}`)],
    ['an instant that is not a number', raw(`k\nsoon\n${id}`)],
    ['an unknown order', raw(`p\nx\n0\n15\n${id}`)],
    ['a part past the pinned and the others', raw(`p\nu\n2\n15\n${id}`)],
    ['a negative instant in a list', raw(`p\nu\n1\n-1\n${id}`)],
    ['a list id that is not a note id', raw('p\nc\n1\n15\nnope')],
    ['more fields', raw(`p\nc\n1\n15\n${id}\nx`)],
  ])('refuses a list cursor with %s', (_, cursor) => {
    expect(() => listPositionOf(readListCursor(cursor))).toThrow(BadCursor);
  });

  it.each([
    ['a part the order does not have', raw(`s\nr\n2\n20\n${id}`)],
    ['a fractional position', raw(`s\nr\n0\n2.5\n${id}`)],
    ['a position past the safe integers', raw(`s\nr\n0\n9999999999999999\n${id}`)],
    ['no number', raw(`s\nr\n0\ntwenty\n${id}`)],
    ['an id that is not a note id', raw('s\nr\n0\n20\nnot-an-id')],
    ['more fields', raw(`s\nr\n0\n20\n${id}\nx`)],
  ])('refuses a search cursor with %s', (_, cursor) => {
    expect(() => searchPositionOf(readListCursor(cursor), 'relevance')).toThrow(BadCursor);
  });
});
