import { tagOrNull } from '../tag';
import { queryTokens } from './text';

export interface SearchTerm {
  /** As the person typed it (for highlighting). */
  raw: string;
  /** Index tokens that must appear in this order (one token for a plain word). */
  tokens: string[];
}

export interface ParsedQuery {
  include: SearchTerm[];
  exclude: SearchTerm[];
  tags: string[];
  excludedTags: string[];
  /** Something the person should know, e.g. an unbalanced quote that was closed for them. */
  notice?: 'search.unbalancedQuote' | 'search.nothingToSearch';
}

const MAX_TERMS = 16;

/**
 * The one search grammar of both engines: words, "quoted phrases",
 * -excluded words or phrases, tag:name (and -tag:name). Anything else is
 * text: FTS operators (AND, OR, NEAR, *, ^, :, parentheses) have no meaning
 * here and are searched for as the words they contain. The parser never
 * fails; the terms it returns only ever reach SQL as bound parameters.
 */
export function parseQuery(input: string): ParsedQuery {
  const query: ParsedQuery = { include: [], exclude: [], tags: [], excludedTags: [] };
  const text = input.slice(0, 500);
  const quotes = (text.match(/"/g) ?? []).length;
  if (quotes % 2 === 1) query.notice = 'search.unbalancedQuote';
  const pattern = /(-?)"([^"]*)"?|(\S+)/g;
  for (const match of text.matchAll(pattern)) {
    const negated = match[1] === '-' || (match[3]?.startsWith('-') ?? false);
    const phrase = match[2];
    let word = match[3];
    if (word?.startsWith('-')) word = word.slice(1);
    if (word !== undefined && /^tag:/i.test(word)) {
      const name = tagOrNull(word.slice(4));
      if (name) (negated ? query.excludedTags : query.tags).push(name);
      continue;
    }
    const raw = phrase ?? word ?? '';
    const tokens = queryTokens(raw);
    if (tokens.length === 0) continue;
    (negated ? query.exclude : query.include).push({ raw, tokens });
    if (query.include.length + query.exclude.length >= MAX_TERMS) break;
  }
  if (!query.include.length && !query.exclude.length && !query.tags.length && !query.excludedTags.length && text.trim()) {
    query.notice = 'search.nothingToSearch';
  }
  return query;
}

export function isEmpty(query: ParsedQuery): boolean {
  return !query.include.length && !query.exclude.length && !query.tags.length && !query.excludedTags.length;
}
