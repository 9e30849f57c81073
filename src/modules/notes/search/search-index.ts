import { Database, SqlParam } from '@kiroku/persistence';
import { EntityManager } from 'typeorm';
import { ParsedQuery, SearchTerm } from './query';
import { indexText } from './text';

/**
 * Which results a search walk goes through, each newest first: `all` the matches; for relevance, `head` those
 * with every included word (or phrase) in the title or the tags, then `rest` the others.
 */
export type SearchPart = 'all' | 'head' | 'rest';

/** A place in a search walk: the index's ordering value of a result (FTS5 rowid on SQLite, lowest newest; creation time on PostgreSQL) and its note's id. */
export interface SearchKey {
  at: number;
  id: string;
}

/**
 * The SQL of a walk through the owner's matches, newest first, for a SELECT to
 * complete: FROM, conditions, the note id's expression (to join notes and apply
 * tag filters), the position of each row and the ORDER BY.
 */
export interface SearchWalk {
  from: string;
  where: string[];
  noteId: string;
  at: string;
  orderBy: string;
}

export interface IndexedNote {
  id: string;
  ownerId: string;
  title: string;
  body: string;
  tags: string[];
  createdAt: Date;
}

/**
 * The full-text index of one engine. Writes happen inside the caller's
 * transaction, so a note and its index entry change together. Query text
 * only ever travels as bound parameters.
 */
export abstract class SearchIndex {
  /** Writes (or replaces) the note's entry; `fresh`: the note was just created and has none yet, so none is looked for. */
  abstract write(m: EntityManager, note: IndexedNote, options?: { fresh?: boolean }): Promise<void>;

  /** Writes the entries of many notes that have none yet, oldest first (a rebuild into an empty index). */
  async writeMany(m: EntityManager, notes: IndexedNote[]): Promise<void> {
    for (const note of notes) await this.write(m, note, { fresh: true });
  }
  abstract remove(m: EntityManager, noteIds: string[]): Promise<void>;

  /** Removes every entry (before a rebuild over a partly copied database). */
  abstract clear(m: EntityManager): Promise<void>;

  /**
   * A walk through one part of the owner's notes matching the query's words, newest first, after `after`
   * (null: from the newest); values appended to `params`. It reads index entries in the index's own order and
   * stops at the LIMIT the caller adds, so its cost follows the page, not the number of matches. Trashed
   * notes are not in the index. Exclusions are applied here; tags are not.
   */
  abstract walk(query: ParsedQuery, ownerId: string, part: SearchPart, after: SearchKey | null, params: SqlParam[]): SearchWalk;

  /**
   * A condition on notes (alias `n`) that keeps those without the excluded
   * words, for queries with no included word; its values are appended to params.
   */
  abstract exclude(query: ParsedQuery, ownerId: string, params: SqlParam[]): string;

  static for(db: Pick<Database, 'engine'>): SearchIndex {
    return db.engine === 'postgres' ? new PostgresSearchIndex() : new SqliteSearchIndex();
  }
}

/** A lone CJK character is not a bigram: it is searched as the prefix of the bigrams it starts. */
function isLoneCjk(term: SearchTerm): boolean {
  return term.tokens.length === 1 && [...term.tokens[0]].length === 1 && /[^\p{ASCII}]/u.test(term.tokens[0]);
}

/** A phrase of index tokens in FTS5 syntax. */
function fts5Phrase(term: SearchTerm): string {
  const phrase = `"${term.tokens.join(' ').replace(/"/g, '""')}"`;
  return isLoneCjk(term) ? `${phrase}*` : phrase;
}

/** A term as a PostgreSQL tsquery; `placeholder` is where its bound text goes. */
function pgTermQuery(term: SearchTerm, placeholder: string): string {
  return isLoneCjk(term) ? `to_tsquery('simple', quote_literal(${placeholder}) || ':*')` : `phraseto_tsquery('simple', ${placeholder})`;
}

/**
 * A term as tsquery text restricted to weight A (title and tags). Its tokens are letters, digits and
 * underscores (queryTokens), quoted all the same; the text still travels as a bound parameter.
 */
function headTerm(term: SearchTerm): string {
  const quoted = (token: string) => `'${token.replace(/['\\]/g, (c) => c + c)}'`;
  return isLoneCjk(term) ? `${quoted(term.tokens[0])}:*A` : term.tokens.map((token) => `${quoted(token)}:A`).join(' <-> ');
}

/** The owner as one FTS token, so that a search only ever walks its owner's entries. */
const ownerToken = (ownerId: string) => `o${ownerId.replace(/-/g, '')}`;

class SqliteSearchIndex extends SearchIndex {
  async write(m: EntityManager, note: IndexedNote, options: { fresh?: boolean } = {}): Promise<void> {
    const [row] = options.fresh ? [] : await m.query<Array<{ fts_rowid: number }>>('SELECT "fts_rowid" FROM "notes_fts_map" WHERE "note_id" = ?', [note.id]);
    const values = [ownerToken(note.ownerId), indexText(note.title), indexText(note.tags.join(' ')), indexText(note.body)];
    if (row) {
      await m.query('UPDATE "notes_fts" SET "owner" = ?, "title" = ?, "tags" = ?, "body" = ? WHERE "rowid" = ?', [...values, row.fts_rowid]);
      return;
    }
    // Below every other entry: the lowest rowids are the newest (migration NumberSearchEntriesNewestFirst).
    await m.query(
      'INSERT INTO "notes_fts" ("rowid", "owner", "title", "tags", "body") VALUES ((SELECT coalesce(min("fts_rowid"), 1) - 1 FROM "notes_fts_map"), ?, ?, ?, ?)',
      values,
    );
    await m.query('INSERT INTO "notes_fts_map" ("note_id", "fts_rowid") VALUES (?, last_insert_rowid())', [note.id]);
  }

  /**
   * The batch below every other entry, its newest note lowest, written in rising rowid order: FTS5 flushes its
   * pending terms to a new segment whenever a rowid is lower than the one before, which one entry at a time
   * did for every note (a rebuild 8 times slower).
   */
  override async writeMany(m: EntityManager, notes: IndexedNote[]): Promise<void> {
    if (notes.length === 0) return;
    const [{ low }] = await m.query<Array<{ low: number }>>('SELECT coalesce(min("fts_rowid"), 1) AS "low" FROM "notes_fts_map"');
    for (let i = notes.length - 1; i >= 0; i--) {
      const note = notes[i];
      const rowid = low - 1 - i;
      await m.query('INSERT INTO "notes_fts" ("rowid", "owner", "title", "tags", "body") VALUES (?, ?, ?, ?, ?)', [
        rowid,
        ownerToken(note.ownerId),
        indexText(note.title),
        indexText(note.tags.join(' ')),
        indexText(note.body),
      ]);
      await m.query('INSERT INTO "notes_fts_map" ("note_id", "fts_rowid") VALUES (?, ?)', [note.id, rowid]);
    }
  }

  async remove(m: EntityManager, noteIds: string[]): Promise<void> {
    if (noteIds.length === 0) return;
    const marks = noteIds.map(() => '?').join(', ');
    await m.query(`DELETE FROM "notes_fts" WHERE "rowid" IN (SELECT "fts_rowid" FROM "notes_fts_map" WHERE "note_id" IN (${marks}))`, noteIds);
    await m.query(`DELETE FROM "notes_fts_map" WHERE "note_id" IN (${marks})`, noteIds);
  }

  async clear(m: EntityManager): Promise<void> {
    await m.query('DELETE FROM "notes_fts"');
    await m.query('DELETE FROM "notes_fts_map"');
  }

  walk(query: ParsedQuery, ownerId: string, part: SearchPart, after: SearchKey | null, params: SqlParam[]): SearchWalk {
    // FTS5 walks a MATCH in rowid order and stops at the LIMIT: the newest entries (the lowest rowids) come first
    // without reading the others, and the owner's long doclist is skipped through, not read. The head is the
    // words in the title or tags columns; the rest, the other matches.
    const words = ftsTerms(query.include, 'AND');
    const head = ftsTerms(query.include, 'AND', '{title tags}');
    const found = part === 'head' ? head : part === 'rest' ? `(${words} NOT ${head})` : words;
    const excluded = query.exclude.length ? ` NOT ${ftsTerms(query.exclude, 'OR')}` : '';
    params.push(`(${ownerMatch(ownerId)} AND ${found}${query.tags.map(tagsMatch).join('')})${excluded}`);
    const where = [`f."notes_fts" MATCH $${params.length}`];
    if (after) {
      params.push(after.at);
      where.push(`f."rowid" > $${params.length}`);
    }
    return {
      from: '"notes_fts" f CROSS JOIN "notes_fts_map" map ON map."fts_rowid" = f."rowid"',
      where,
      noteId: 'map."note_id"',
      at: 'f."rowid"',
      orderBy: 'ORDER BY f."rowid" ASC',
    };
  }

  exclude(query: ParsedQuery, ownerId: string, params: SqlParam[]): string {
    params.push(`${ownerMatch(ownerId)} AND ${ftsTerms(query.exclude, 'OR')}`);
    return `n.id NOT IN (SELECT "note_id" FROM "notes_fts_map" WHERE "fts_rowid" IN (SELECT "rowid" FROM "notes_fts" WHERE "notes_fts" MATCH $${params.length}))`;
  }
}

/**
 * A required tag as a condition on the index's tags column, so that FTS5 skips the notes without it instead of
 * the walk testing each match. The tag is given as the column was written (indexText) for FTS5 to cut into the
 * same tokens: `ops-team` is the phrase "ops team" there, which a note tagged `ops` and `team` also has, and
 * `会議` is also a bigram of `定例会議`, so the caller still checks the tag itself. A tag without a letter or
 * digit (`.`, `-_`) would be an empty phrase that matches nothing, so it gets no condition, and neither does an
 * excluded tag ("ops" is also in `ops-team`).
 */
const tagsMatch = (tag: string) => {
  const text = indexText(tag).trim();
  return /[\p{L}\p{N}]/u.test(text) ? ` AND tags : "${text.replace(/"/g, '""')}"` : '';
};
const ownerMatch = (ownerId: string) => `owner : "${ownerToken(ownerId)}"`;
const ftsTerms = (list: SearchTerm[], op: string, columns = '{title tags body}') => `${columns} : (${list.map(fts5Phrase).join(` ${op} `)})`;

class PostgresSearchIndex extends SearchIndex {
  async write(m: EntityManager, note: IndexedNote): Promise<void> {
    await this.writeMany(m, [note]);
  }

  /**
   * One statement for the whole batch: a rebuild of 100,000 notes would otherwise be 100,000 round trips.
   * Each entry carries its note's owner and creation time, so that a search reads note_search alone.
   */
  override async writeMany(m: EntityManager, notes: IndexedNote[]): Promise<void> {
    if (notes.length === 0) return;
    await m.query(
      `INSERT INTO "note_search" ("note_id", "owner_id", "created_at", "document")
       SELECT id, owner_id, created_at,
              setweight(to_tsvector('simple', title), 'A') || setweight(to_tsvector('simple', tags), 'A') || setweight(to_tsvector('simple', body), 'B')
         FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[]) AS n(id, owner_id, created_at, title, tags, body)
       ON CONFLICT ("note_id") DO UPDATE SET "document" = EXCLUDED."document"`,
      [
        notes.map((n) => n.id),
        notes.map((n) => n.ownerId),
        notes.map((n) => n.createdAt.getTime()),
        notes.map((n) => indexText(n.title)),
        notes.map((n) => indexText(n.tags.join(' '))),
        notes.map((n) => indexText(n.body)),
      ],
    );
  }

  async remove(m: EntityManager, noteIds: string[]): Promise<void> {
    if (noteIds.length === 0) return;
    await m.query('DELETE FROM "note_search" WHERE "note_id" = ANY($1)', [noteIds]);
  }

  async clear(m: EntityManager): Promise<void> {
    await m.query('DELETE FROM "note_search"');
  }

  walk(query: ParsedQuery, ownerId: string, part: SearchPart, after: SearchKey | null, params: SqlParam[]): SearchWalk {
    params.push(ownerId);
    const where = [`s.owner_id = $${params.length}`];
    const tsquery = (terms: SearchTerm[], joiner: string) =>
      terms
        .map((term) => {
          params.push(term.tokens.join(' '));
          return pgTermQuery(term, `$${params.length}`);
        })
        .join(joiner);
    where.push(`s.document @@ (${tsquery(query.include, ' && ')})`);
    if (part !== 'all') {
      // The title and tags are weight A of the document: the same words, each restricted to A.
      params.push(query.include.map(headTerm).join(' & '));
      where.push(`${part === 'rest' ? 'NOT ' : ''}s.document @@ to_tsquery('simple', $${params.length})`);
    }
    if (query.exclude.length) where.push(`NOT (s.document @@ (${tsquery(query.exclude, ' || ')}))`);
    if (after) {
      params.push(after.at, after.id);
      const [at, id] = [`$${params.length - 1}`, `$${params.length}`];
      where.push(`(s.created_at < ${at} OR (s.created_at = ${at} AND s.note_id < ${id}))`);
    }
    // PostgreSQL either walks the owner's entries newest first (idx_note_search_owner_created) checking each
    // document, or gathers a rare word's matches from the GIN index and sorts those: it picks by the word's
    // frequency, which is why the statement stays unnamed (see NotesRepository.searchPage).
    return { from: 'note_search s', where, noteId: 's.note_id', at: 's.created_at', orderBy: 'ORDER BY s.created_at DESC, s.note_id DESC' };
  }

  exclude(query: ParsedQuery, ownerId: string, params: SqlParam[]): string {
    params.push(ownerId);
    const owner = `$${params.length}`;
    const parts = query.exclude.map((term) => {
      params.push(term.tokens.join(' '));
      return pgTermQuery(term, `$${params.length}`);
    });
    return `n.id NOT IN (SELECT "note_id" FROM "note_search" WHERE "owner_id" = ${owner} AND "document" @@ (${parts.join(' || ')}))`;
  }
}
