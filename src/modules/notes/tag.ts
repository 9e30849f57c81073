/**
 * A tag name: 1 to 32 letters (with the marks that complete them in scripts such as Devanagari), digits, `_`,
 * `-` and `.` of any script, counted in code points after normalisation.
 */
export const TAG_PATTERN = /^[\p{L}\p{M}\p{N}_.-]{1,32}$/u;

/** What a refused tag is told, in the API's words (the page has note.invalid.tags). */
export const TAG_RULE = 'must be 1 to 32 letters or digits of any script, or _ - . (no spaces or other symbols)';

/**
 * A tag as stored: NFKC (full-width ＡＢＣ and half-width ｶﾀｶﾅ become their usual forms) and lower-cased where the
 * script has case, so that `Work`, `work` and `ｗｏｒｋ` are one tag. NFKC again after lower-casing, which can
 * leave a sequence NFKC would compose (İ becomes i and a combining dot).
 */
export function normalizeTag(raw: string): string {
  return raw.trim().normalize('NFKC').toLowerCase().normalize('NFKC');
}

/** The normalised tag if it is one, else null (a page's or a query's tag filter forgives what the API refuses). */
export function tagOrNull(raw: unknown): string | null {
  if (typeof raw !== 'string') return null;
  const tag = normalizeTag(raw);
  return TAG_PATTERN.test(tag) ? tag : null;
}
