/**
 * Text for the search index. Japanese and Chinese have no spaces between
 * words, so a word tokenizer would see 「明日は東京で会議」 as one token and
 * never match 東京. Runs of CJK characters are therefore indexed as
 * overlapping two-character tokens (明日 日は は東 東京 京で で会 会議), on
 * both engines, and a query is cut the same way: 東京 is one token, 東京都
 * is the phrase "東京 京都". Other text is left to the engine's word rules.
 */
const CJK_RUN = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}ー々〆ヶ]+/gu;

export function bigrams(run: string): string[] {
  const chars = [...run];
  if (chars.length < 2) return chars;
  const out: string[] = [];
  for (let i = 0; i < chars.length - 1; i++) out.push(chars[i] + chars[i + 1]);
  return out;
}

/** The text as the index stores it: lower-cased, CJK runs replaced by their bigrams. */
export function indexText(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(CJK_RUN, (run) => ` ${bigrams(run).join(' ')} `);
}

/**
 * Word and bigram tokens of a query term, in order. A token without a letter
 * or digit (`_`, `__`) is dropped: neither engine indexes one, and SQLite
 * would read it as an empty phrase that matches nothing.
 */
export function queryTokens(term: string): string[] {
  return indexText(term)
    .split(/[^\p{L}\p{N}_]+/u)
    .filter((token) => /[\p{L}\p{N}]/u.test(token));
}

export function hasCjk(text: string): boolean {
  return new RegExp(CJK_RUN.source, 'u').test(text);
}
