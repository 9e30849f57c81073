import { tagOrNull } from '../tag';
import { hasCjk, isLoneCjk, queryTokens } from './text';

export interface SearchTerm {
  /** As the person typed it (for highlighting). */
  raw: string;
  /** Index tokens that must appear in this order (one token for a plain word). */
  tokens: string[];
  /** The last token also matches the longer tokens it begins (`appl` finds apple). */
  prefix: boolean;
}

export interface ParsedQuery {
  /** Every group must match; a group matches when any of its terms does (`a OR b` is one group of two). */
  include: SearchTerm[][];
  exclude: SearchTerm[];
  tags: string[];
  excludedTags: string[];
  /** Something the person should know, e.g. an unbalanced quote that was closed for them. */
  notice?: 'search.unbalancedQuote' | 'search.nothingToSearch';
}

const MAX_TERMS = 16;

/** A prefix shorter than this would match most of the index: a single letter is searched as the word it is. */
const MIN_PREFIX = 2;

/**
 * The one search grammar of both engines: words, "quoted phrases",
 * -excluded words or phrases, tag:name (and -tag:name), `OR` (upper case)
 * between two words or phrases. The last word of the query, when it is not
 * quoted, also matches the longer words it begins (search as you type).
 * Anything else is text: FTS operators (AND, NEAR, *, ^, :, parentheses)
 * have no meaning here and are searched for as the words they contain, and an
 * OR with no word on either side is dropped. The parser never fails; the
 * terms it returns only ever reach SQL as bound parameters.
 */
export function parseQuery(input: string): ParsedQuery {
  const query: ParsedQuery = { include: [], exclude: [], tags: [], excludedTags: [] };
  const text = input.slice(0, 500);
  const quotes = (text.match(/"/g) ?? []).length;
  if (quotes % 2 === 1) query.notice = 'search.unbalancedQuote';
  const pattern = /(-?)"([^"]*)"?|(\S+)/g;
  let terms = 0;
  // An OR just read, waiting for the word after it; `joinable`: the item before it was an included term.
  let or = false;
  let joinable = false;
  let last: { term: SearchTerm; quoted: boolean } | null = null;
  for (const match of text.matchAll(pattern)) {
    const negated = match[1] === '-' || (match[3]?.startsWith('-') ?? false);
    const phrase = match[2];
    let word = match[3];
    last = null;
    if (word === 'OR') {
      or = joinable;
      continue;
    }
    if (word?.startsWith('-')) word = word.slice(1);
    if (word !== undefined && /^tag:/i.test(word)) {
      const name = tagOrNull(word.slice(4));
      if (name) (negated ? query.excludedTags : query.tags).push(name);
      or = joinable = false;
      continue;
    }
    const raw = phrase ?? word ?? '';
    const tokens = queryTokens(raw);
    if (tokens.length === 0) continue;
    const term: SearchTerm = { raw, tokens, prefix: tokens.length === 1 && isLoneCjk(tokens[0]) };
    if (negated) {
      query.exclude.push(term);
      or = joinable = false;
    } else {
      if (or) query.include[query.include.length - 1].push(term);
      else query.include.push([term]);
      last = { term, quoted: phrase !== undefined };
      or = false;
      joinable = true;
    }
    if (++terms >= MAX_TERMS) break;
  }
  // A CJK bigram begins no longer token (every CJK token is one or two characters): no prefix needed.
  const end = last?.term.tokens[last.term.tokens.length - 1];
  if (last && end && !last.quoted && [...end].length >= MIN_PREFIX && !hasCjk(end)) last.term.prefix = true;
  if (!query.include.length && !query.exclude.length && !query.tags.length && !query.excludedTags.length && text.trim()) {
    query.notice = 'search.nothingToSearch';
  }
  return query;
}

/** Every included term, whichever group it is in. */
export function includedTerms(query: ParsedQuery): SearchTerm[] {
  return query.include.flat();
}

export function isEmpty(query: ParsedQuery): boolean {
  return !query.include.length && !query.exclude.length && !query.tags.length && !query.excludedTags.length;
}
