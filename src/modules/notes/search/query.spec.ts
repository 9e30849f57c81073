import { parseQuery } from './query';
import { indexText, queryTokens, tokens } from './text';

describe('search text', () => {
  it('indexes Japanese as bigrams so that a two-character word is found inside a sentence', () => {
    expect(indexText('明日は東京で会議').split(' ')).toEqual(['明日', '日は', 'は東', '東京', '京で', 'で会', '会議']);
    expect(queryTokens('東京')).toEqual(['東京']);
    expect(queryTokens('東京都')).toEqual(['東京', '京都']);
  });

  it('keeps mixed Japanese and English apart, lower-cased and width-normalised', () => {
    expect(queryTokens('Kirokuの設計ＡＰＩ')).toEqual(['kiroku', 'の設', '設計', 'api']);
  });

  it.each([
    ['plum-137', ['plum', '137']],
    ['2026-12-04', ['2026', '12', '04']],
    ['v2.0.1', ['v2', '0', '1']],
    ['foo_bar', ['foo', 'bar']],
    ['ada@example.com', ['ada', 'example', 'com']],
    ['C++', ['c']],
    ['Café NAÏVE İstanbul', ['cafe', 'naive', 'istanbul']],
    ['ＡＢＣ１２３', ['abc123']],
    ['1️⃣ 🍎 x', ['1', 'x']],
    ['葛\u{E0100}飾区', ['葛飾', '飾区']],
    ['हिन्दी', ['हिन्दी']],
  ])('cuts %j into the tokens %j, the same for notes and queries', (text, expected) => {
    expect(tokens(text)).toEqual(expected);
  });

  it('cuts a token longer than 200 characters to 200 (PostgreSQL refuses longer lexemes)', () => {
    expect(tokens(`${'x'.repeat(300)} y`)).toEqual(['x'.repeat(200), 'y']);
  });
});

describe('parseQuery', () => {
  const words = (q: ReturnType<typeof parseQuery>) => q.include.map((group) => group.map((t) => t.tokens));

  it('reads words, phrases, exclusions and tags', () => {
    const q = parseQuery('deploy "rolling restart" -staging -"old notes" tag:ops -tag:draft');
    expect(words(q)).toEqual([[['deploy']], [['rolling', 'restart']]]);
    expect(q.exclude.map((t) => t.tokens)).toEqual([['staging'], ['old', 'notes']]);
    expect(q).toMatchObject({ tags: ['ops'], excludedTags: ['draft'] });
  });

  it('joins the words or phrases on either side of OR into one group; a lone or lower-case or is a word or nothing', () => {
    expect(words(parseQuery('apple OR "green pear" fig'))).toEqual([[['apple'], ['green', 'pear']], [['fig']]]);
    expect(words(parseQuery('a OR b OR c'))).toEqual([[['a'], ['b'], ['c']]]);
    expect(words(parseQuery('apple or pear'))).toEqual([[['apple']], [['or']], [['pear']]]);
    expect(words(parseQuery('OR apple OR'))).toEqual([[['apple']]]);
    expect(words(parseQuery('apple OR -pear fig'))).toEqual([[['apple']], [['fig']]]);
    expect(parseQuery('OR').notice).toBe('search.nothingToSearch');
  });

  it('matches the last word as a prefix from two characters on, never a quoted phrase or an exclusion', () => {
    const prefixes = (input: string) =>
      parseQuery(input)
        .include.flat()
        .map((t) => t.prefix);
    expect(prefixes('red appl')).toEqual([false, true]);
    expect(prefixes('plum-13')).toEqual([true]);
    expect(prefixes('red a')).toEqual([false, false]);
    expect(prefixes('red 東京')).toEqual([false, false]);
    expect(prefixes('red "appl"')).toEqual([false, false]);
    expect(prefixes('appl -red')).toEqual([false]);
    expect(prefixes('appl tag:x')).toEqual([false]);
    expect(parseQuery('x -appl').exclude[0].prefix).toBe(false);
    // A lone CJK character is the start of the bigrams it begins, wherever it is.
    expect(prefixes('議 apple')).toEqual([true, true]);
  });

  it('reads tags of any script, normalised as tags are stored, and drops what is not a tag', () => {
    expect(parseQuery('tag:会議 -tag:東京 tag:Node.JS tag:ＡＰＩ')).toMatchObject({ tags: ['会議', 'node.js', 'api'], excludedTags: ['東京'] });
    expect(parseQuery('tag:c++ tag:#x')).toMatchObject({ tags: [], excludedTags: [], notice: 'search.nothingToSearch' });
  });

  it.each([
    ['"unbalanced phrase', { include: [['unbalanced', 'phrase']], notice: 'search.unbalancedQuote' }],
    ['-', { include: [], notice: 'search.nothingToSearch' }],
    ['a AND b OR NOT c*', { include: [['a'], ['and'], ['b'], ['not'], ['c']] }],
    ["'; DROP TABLE notes; --", { include: [['drop'], ['table'], ['notes']] }],
    ['NEAR(a b) title:x ^y', { include: [['near', 'a'], ['b'], ['title', 'x'], ['y']] }],
    ['__ hello _', { include: [['hello']] }],
    ['snake_case', { include: [['snake', 'case']] }],
  ])('never fails on %j', (input, expected) => {
    const q = parseQuery(input);
    expect(q.include.flat().map((t) => t.tokens)).toEqual(expected.include);
    if ('notice' in expected) expect(q.notice).toBe(expected.notice);
  });
});
