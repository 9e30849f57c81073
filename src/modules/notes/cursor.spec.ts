import { encodeKeyset } from '@kiroku/persistence';
import { BadCursor, keysetOf, offsetCursor, offsetOf, readListCursor } from './cursor';

const id = '0b0e8c4a-7f7e-4e0a-9a55-3f1c2d9e8b11';
const raw = (text: string) => Buffer.from(text).toString('base64url');

describe('note list cursors', () => {
  it('a list cursor goes on after the note it names', () => {
    expect(keysetOf(readListCursor(encodeKeyset({ at: 1_767_225_600_000, id })))).toEqual({ at: 1_767_225_600_000, id });
  });

  it('a search cursor goes on at its offset', () => {
    expect(offsetOf(readListCursor(offsetCursor(40)))).toBe(40);
  });

  it('refuses a cursor of neither kind at once', () => {
    expect(() => readListCursor('bogus')).toThrow(BadCursor);
    expect(() => readListCursor(raw(`x\n1\n${id}`))).toThrow(BadCursor);
  });

  it('refuses a cursor of the other kind: a search is not continued by position, nor a list by offset', () => {
    expect(() => offsetOf(readListCursor(encodeKeyset({ at: 1, id })))).toThrow(BadCursor);
    expect(() => keysetOf(readListCursor(offsetCursor(20)))).toThrow(BadCursor);
  });

  it.each([
    ['an id that is not a note id', raw('k\n15\nnot-an-id')],
    ['a negative instant', raw(`k\n-1\n${id}`)],
    ['an instant that is not a number', raw(`k\nsoon\n${id}`)],
  ])('refuses a list cursor with %s', (_, cursor) => {
    expect(() => keysetOf(readListCursor(cursor))).toThrow(BadCursor);
  });

  it.each([
    ['a negative offset', raw('o\n-20')],
    ['a fractional offset', raw('o\n2.5')],
    ['an offset past 100,000', raw('o\n100001')],
    ['no number', raw('o\ntwenty')],
  ])('refuses a search cursor with %s', (_, cursor) => {
    expect(() => offsetOf(readListCursor(cursor))).toThrow(BadCursor);
  });
});
