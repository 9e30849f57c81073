import type { ExpectedVersions } from './notes.repository';

/** A note version's entity tag: strong, and different for every version of the note. */
export const etagOf = (version: number): string => `"v${version}"`;

/** One entity-tag of RFC 9110 (§8.8.3): optionally weak, then a quoted opaque string. */
const ENTITY_TAG = /^(W\/)?"([\x21\x23-\x7e\x80-\xff]*)"$/;

/**
 * The versions an If-Match header lets a write apply to: null without the header or with `*` (any version
 * of a note that exists), else the versions of the strong tags this API gave out. A weak tag, or a tag
 * it never gave, matches no version (RFC 9110 compares If-Match strongly). 'malformed' when the header is
 * not a list of entity-tags (an unquoted `5`, a stray comma).
 */
export function ifMatchVersions(header: string | undefined): ExpectedVersions | 'malformed' {
  if (header === undefined) return null;
  if (header.trim() === '*') return null;
  const versions: number[] = [];
  for (const item of header.split(',')) {
    const tag = ENTITY_TAG.exec(item.trim());
    if (!tag) return 'malformed';
    const ours = /^v([1-9]\d{0,9})$/.exec(tag[2]);
    if (!tag[1] && ours) versions.push(Number(ours[1]));
  }
  return versions;
}
