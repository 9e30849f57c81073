import { Invalid, parseBoolean, parseDuration, parseInteger, parseList } from './parsers';

describe('parsers', () => {
  it.each([
    ['250ms', 250],
    ['30s', 30_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1500', 1500],
    [200, 200],
  ])('parseDuration(%j) = %d', (input, ms) => expect(parseDuration(input)).toBe(ms));

  it.each(['', '5 minutes', '-1s', '1.5s', 'abc', -5])('parseDuration(%j) is NaN', (input) => expect(parseDuration(input)).toBeNaN());

  it('parses integers strictly', () => {
    expect(parseInteger('42')).toBe(42);
    expect(parseInteger('4.2')).toBeNaN();
    expect(parseInteger('42abc')).toBeNaN();
  });

  it('parses booleans and marks anything else invalid', () => {
    expect(parseBoolean('true')).toBe(true);
    expect(parseBoolean('OFF')).toBe(false);
    expect(parseBoolean('maybe')).toBeInstanceOf(Invalid);
  });

  it('splits comma-separated lists and drops blanks', () => {
    expect(parseList(' a, b ,,c ')).toEqual(['a', 'b', 'c']);
    expect(parseList(['x', 1])).toEqual(['x', '1']);
  });
});
