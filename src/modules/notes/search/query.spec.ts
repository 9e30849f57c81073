import { parseQuery } from './query';
import { indexText, queryTokens } from './text';

describe('search text', () => {
  it('indexes Japanese as bigrams so that a two-character word is found inside a sentence', () => {
    expect(indexText('明日は東京で会議').trim().split(/\s+/)).toEqual(['明日', '日は', 'は東', '東京', '京で', 'で会', '会議']);
    expect(queryTokens('東京')).toEqual(['東京']);
    expect(queryTokens('東京都')).toEqual(['東京', '京都']);
  });

  it('keeps mixed Japanese and English apart, lower-cased and width-normalised', () => {
    expect(queryTokens('Kirokuの設計ＡＰＩ')).toEqual(['kiroku', 'の設', '設計', 'api']);
  });
});

describe('parseQuery', () => {
  it('reads words, phrases, exclusions and tags', () => {
    const q = parseQuery('deploy "rolling restart" -staging -"old notes" tag:ops -tag:draft');
    expect(q.include.map((t) => t.tokens)).toEqual([['deploy'], ['rolling', 'restart']]);
    expect(q.exclude.map((t) => t.tokens)).toEqual([['staging'], ['old', 'notes']]);
    expect(q).toMatchObject({ tags: ['ops'], excludedTags: ['draft'] });
  });

  it('reads tags of any script, normalised as tags are stored, and drops what is not a tag', () => {
    expect(parseQuery('tag:会議 -tag:東京 tag:Node.JS tag:ＡＰＩ')).toMatchObject({ tags: ['会議', 'node.js', 'api'], excludedTags: ['東京'] });
    expect(parseQuery('tag:c++ tag:#x')).toMatchObject({ tags: [], excludedTags: [], notice: 'search.nothingToSearch' });
  });

  it.each([
    ['"unbalanced phrase', { include: [['unbalanced', 'phrase']], notice: 'search.unbalancedQuote' }],
    ['-', { include: [], notice: 'search.nothingToSearch' }],
    ['a AND b OR NOT c*', { include: [['a'], ['and'], ['b'], ['or'], ['not'], ['c']] }],
    ["'; DROP TABLE notes; --", { include: [['drop'], ['table'], ['notes']] }],
    ['NEAR(a b) title:x ^y', { include: [['near', 'a'], ['b'], ['title', 'x'], ['y']] }],
    ['__ hello _', { include: [['hello']] }],
    ['snake_case', { include: [['snake_case']] }],
  ])('never fails on %j', (input, expected) => {
    const q = parseQuery(input);
    expect(q.include.map((t) => t.tokens)).toEqual(expected.include);
    if ('notice' in expected) expect(q.notice).toBe(expected.notice);
  });
});
