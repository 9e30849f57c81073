/**
 * The one tokenisation of search, done here for both engines: SQLite (FTS5, `ascii` tokenizer) and PostgreSQL
 * (a tsvector built from these tokens, never from its own parser) store exactly the tokens `tokens` gives,
 * and a query is cut by the same function. Left to the engines, `plum-137` was `plum` and `137` on SQLite but
 * `plum` and `-137` (a signed number) on PostgreSQL, and dates, versions and e-mail addresses split
 * differently again.
 *
 * The rules: text is NFKC-normalised (full-width ＡＰＩ is api, ① is 1) and lower-cased; accents are dropped
 * from Latin and Greek letters (café is cafe); a token is a run of letters and digits (with the marks that
 * belong to them): everything else separates, so `plum-137`, `2026-12-04`, `v2.0.1`, `foo_bar`,
 * `ada@example.com`, `C++` are the tokens `plum 137`, `2026 12 04`, `v2 0 1`, `foo bar`, `ada example com`,
 * `c`, each findable alone or, typed as it is written, as the phrase of its parts. Emoji and symbols are not
 * tokens. Japanese, Chinese and Korean have no spaces between words, so a word tokenizer would see
 * 「明日は東京で会議」 as one token and never match 東京: their runs are cut into overlapping two-character
 * tokens (明日 日は は東 東京 京で で会 会議), and a query the same way (東京都 is the phrase "東京 京都").
 */
const CJK_RUN = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}ー々〆ヶ]+/gu;

/** A token: a letter or digit, then letters, digits and combining marks (Devanagari vowel signs, say). */
const TOKEN = /[\p{L}\p{N}][\p{L}\p{N}\p{M}]*/gu;

/**
 * Longer tokens are cut to this many characters, on both sides alike: PostgreSQL refuses a lexeme over
 * 2,046 bytes, and nobody searches for a 200-letter word they did not paste whole.
 */
export const MAX_TOKEN = 200;

export function bigrams(run: string): string[] {
  const chars = [...run];
  if (chars.length < 2) return chars;
  const out: string[] = [];
  for (let i = 0; i < chars.length - 1; i++) out.push(chars[i] + chars[i + 1]);
  return out;
}

/** NFKC, lower case, no accents on Latin or Greek letters, no variation selectors or enclosing marks (1️⃣ is 1). */
export function normalise(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .normalize('NFD')
    .replace(/([\p{Script=Latin}\p{Script=Greek}])\p{Mn}+/gu, '$1')
    .replace(/[\p{Variation_Selector}\p{Me}]/gu, '')
    .normalize('NFC');
}

/** The text's search tokens, in order: what both engines index, and what a query term must match. */
export function tokens(text: string): string[] {
  const cut = normalise(text).replace(CJK_RUN, (run) => ` ${bigrams(run).join(' ')} `);
  return (cut.match(TOKEN) ?? []).map((token) => (token.length > MAX_TOKEN ? [...token].slice(0, MAX_TOKEN).join('') : token));
}

/** The text as SQLite's index stores it: its tokens separated by spaces (the `ascii` tokenizer splits them there, and only there). */
export function indexText(text: string): string {
  return tokens(text).join(' ');
}

/** Word and bigram tokens of a query term, in order (the same cut as the index). */
export function queryTokens(term: string): string[] {
  return tokens(term);
}

export function hasCjk(text: string): boolean {
  return new RegExp(CJK_RUN.source, 'u').test(text);
}

/** A token that is one CJK character: not a bigram, so it is searched as the start of the bigrams it begins. */
export function isLoneCjk(token: string): boolean {
  return [...token].length === 1 && hasCjk(token);
}
