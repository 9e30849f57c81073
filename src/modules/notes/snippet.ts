import { markdownText } from '../web';
import { includedTerms, ParsedQuery } from './search/query';

/** A piece of an excerpt; `mark`: it matches a searched word. */
export interface Snippet {
  text: string;
  mark: boolean;
}

/** How much Markdown is read for an excerpt: past the first match (or the start) by this much, to the end of that line. */
const WINDOW = 600;
/** A match further into the body than this is read from a blank line before it, not from the start. */
const FAR = 8_000;

/**
 * About 200 characters of the note's text around the first match, as the page shows it (markdownText: the
 * rendered Markdown's words, no Markdown punctuation, link targets or code-fence languages), split into marked
 * and plain pieces. Only a window of the body around the match is parsed, so that a page of 20 excerpts costs
 * the same for notes of 1 KB and of 100 KB.
 */
export function snippet(body: string, query: ParsedQuery): Snippet[] {
  const needles = includedTerms(query)
    .map((t) => t.raw.toLowerCase())
    .filter(Boolean);
  const first = needles.length ? firstIndex(body.toLowerCase(), needles) : -1;
  const from = first > FAR ? readFrom(body, first) : 0;
  let to = lineEnd(body, Math.max(first, 0) + WINDOW);
  let text = markdownText(body.slice(from, to));
  // Markdown that is mostly link targets or table rules has little text: read four times as much once.
  if (text.length < 200 && to < body.length) text = markdownText(body.slice(from, (to = lineEnd(body, Math.max(first, 0) + 4 * WINDOW))));
  const at = needles.length ? firstIndex(text.toLowerCase(), needles) : -1;
  const start = at > 80 ? at - 80 : 0;
  const excerpt = text.slice(start, start + 200).trim();
  const more = text.length > start + 200 || to < body.length;
  const joined = (start > 0 || from > 0 ? '…' : '') + excerpt + (more ? '…' : '');
  if (!needles.length) return [{ text: joined, mark: false }];
  const pattern = new RegExp(`(${needles.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`, 'gi');
  return joined
    .split(pattern)
    .filter(Boolean)
    .map((piece) => ({ text: piece, mark: needles.includes(piece.toLowerCase()) }));
}

/**
 * Where to read a match far into the body from: a paragraph break up to 4,000 characters before it, else the
 * start of a line 1,000 before. A fence or list that began earlier is then read as plain paragraphs, which
 * costs the excerpt some formatting, never its words.
 */
function readFrom(body: string, first: number): number {
  const paragraph = body.lastIndexOf('\n\n', first - 1_000);
  return paragraph >= first - 4_000 ? paragraph : body.lastIndexOf('\n', first - 1_000) + 1;
}

/** Where the first of the needles is in the text; -1 when none is. */
function firstIndex(text: string, needles: string[]): number {
  const found = Math.min(...needles.map((n) => text.indexOf(n)).filter((i) => i >= 0));
  return Number.isFinite(found) ? found : -1;
}

/** The end of the line at `index` (the whole text past its end). */
function lineEnd(text: string, index: number): number {
  if (index >= text.length) return text.length;
  const end = text.indexOf('\n', index);
  return end < 0 ? text.length : end;
}
