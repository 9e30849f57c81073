import { ParsedQuery } from './search/query';

/** A piece of an excerpt; `mark`: it matches a searched word. */
export interface Snippet {
  text: string;
  mark: boolean;
}

/** About 200 characters of the body around the first match, split into marked and plain pieces. */
export function snippet(body: string, query: ParsedQuery): Snippet[] {
  const needles = query.include.map((t) => t.raw.toLowerCase()).filter(Boolean);
  const lower = needles.length ? body.toLowerCase() : '';
  const first = Math.min(...needles.map((n) => lower.indexOf(n)).filter((i) => i >= 0), Infinity);
  const start = first === Infinity ? 0 : Math.max(0, first - 80);
  // Markdown punctuation is noise in a one-line excerpt, and so is a link's target, even one the excerpt cuts.
  const excerpt = body
    .slice(start, start + 200)
    .replace(/[#*`>~|]+|\[|\]\([^)]*(?:\)|$)/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const text = (start > 0 ? '…' : '') + excerpt + (body.length > start + 200 ? '…' : '');
  if (!needles.length) return [{ text, mark: false }];
  const pattern = new RegExp(`(${needles.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`, 'gi');
  return text
    .split(pattern)
    .filter(Boolean)
    .map((piece) => ({ text: piece, mark: needles.includes(piece.toLowerCase()) }));
}
