import { Database, SqlParam } from '@kiroku/persistence';
import { EntityManager } from 'typeorm';
import { ParsedQuery, SearchTerm } from './query';
import { indexText } from './text';

/**
 * Relevance is computed for the newest this-many matches only: ranking every
 * match of a word found in most notes would cost ~100 ms at 100,000 notes;
 * the newest 5,000 cost a few milliseconds and hold what people look for.
 */
export const RANKED_CANDIDATES = 5000;

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

  /** Writes the entries of many notes that have none yet (a rebuild into an empty index). */
  async writeMany(m: EntityManager, notes: IndexedNote[]): Promise<void> {
    for (const note of notes) await this.write(m, note, { fresh: true });
  }
  abstract remove(m: EntityManager, noteIds: string[]): Promise<void>;

  /** Removes every entry (before a rebuild over a partly copied database). */
  abstract clear(m: EntityManager): Promise<void>;

  /**
   * The owner's notes matching the query's words, best first: the newest
   * RANKED_CANDIDATES matches, ranked among themselves; the first `take` of
   * them when given. Trashed notes are not in the index. Exclusions are
   * applied here; tags are not.
   */
  abstract ranked(db: Database, query: ParsedQuery, ownerId: string, take?: number): Promise<string[]>;

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

/** The owner as one FTS token, so that a search only ever walks its owner's entries. */
const ownerToken = (ownerId: string) => `o${ownerId.replace(/-/g, '')}`;

class SqliteSearchIndex extends SearchIndex {
  async write(m: EntityManager, note: IndexedNote, options: { fresh?: boolean } = {}): Promise<void> {
    const [row] = options.fresh ? [] : await m.query<Array<{ fts_rowid: number }>>('SELECT "fts_rowid" FROM "notes_fts_map" WHERE "note_id" = ?', [note.id]);
    const values = [ownerToken(note.ownerId), indexText(note.title), note.tags.join(' '), indexText(note.body)];
    if (row) {
      await m.query('UPDATE "notes_fts" SET "owner" = ?, "title" = ?, "tags" = ?, "body" = ? WHERE "rowid" = ?', [...values, row.fts_rowid]);
      return;
    }
    await m.query('INSERT INTO "notes_fts" ("owner", "title", "tags", "body") VALUES (?, ?, ?, ?)', values);
    await m.query('INSERT INTO "notes_fts_map" ("note_id", "fts_rowid") VALUES (?, last_insert_rowid())', [note.id]);
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

  async ranked(db: Database, query: ParsedQuery, ownerId: string, take = RANKED_CANDIDATES): Promise<string[]> {
    const match = `${ownerMatch(ownerId)} AND ${ftsTerms(query.include, 'AND')}${query.exclude.length ? ` NOT ${ftsTerms(query.exclude, 'OR')}` : ''}`;
    // FTS5's own rowid order gives the newest matches without scoring them all; bm25 (lower is better;
    // title counts most, then tags, then body) then orders those few, and only the page's rows are
    // mapped to note ids. Off the event loop: at 100,000 notes this costs 2–10 ms of SQLite.
    const rows = await db.selectOffThread<{ id: string }>(
      `SELECT map."note_id" AS "id" FROM (
         SELECT "fts_rowid", "rank" FROM (
           SELECT "rowid" AS "fts_rowid", bm25("notes_fts", 0.0, 10.0, 6.0, 1.0) AS "rank" FROM "notes_fts"
            WHERE "notes_fts" MATCH $1 ORDER BY "rowid" DESC LIMIT ${RANKED_CANDIDATES})
          ORDER BY "rank" ASC, "fts_rowid" DESC LIMIT $2) AS hits
       CROSS JOIN "notes_fts_map" AS map ON map."fts_rowid" = hits."fts_rowid"
       ORDER BY hits."rank" ASC, hits."fts_rowid" DESC`,
      [match, take],
    );
    return rows.map((r) => r.id);
  }

  exclude(query: ParsedQuery, ownerId: string, params: SqlParam[]): string {
    params.push(`${ownerMatch(ownerId)} AND ${ftsTerms(query.exclude, 'OR')}`);
    return `n.id NOT IN (SELECT "note_id" FROM "notes_fts_map" WHERE "fts_rowid" IN (SELECT "rowid" FROM "notes_fts" WHERE "notes_fts" MATCH $${params.length}))`;
  }
}

const ownerMatch = (ownerId: string) => `owner : "${ownerToken(ownerId)}"`;
const ftsTerms = (list: SearchTerm[], op: string) => `{title tags body} : (${list.map(fts5Phrase).join(` ${op} `)})`;

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
        notes.map((n) => n.tags.join(' ')),
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

  async ranked(db: Database, query: ParsedQuery, ownerId: string, take = RANKED_CANDIDATES): Promise<string[]> {
    const params: SqlParam[] = [ownerId, take];
    const tsquery = (terms: SearchTerm[], joiner: string) =>
      terms
        .map((term) => {
          params.push(term.tokens.join(' '));
          return pgTermQuery(term, `$${params.length}`);
        })
        .join(joiner);
    const include = `(${tsquery(query.include, ' && ')})`;
    const exclude = query.exclude.length ? ` AND NOT (cs.document @@ (${tsquery(query.exclude, ' || ')}))` : '';
    // The rank is computed beside each match so that the sort by time carries a number, not the document
    // (sorting 5,000 documents spilled to disk); PostgreSQL computes it only for the rows it keeps when it
    // walks the owner's entries newest first.
    // Not a named prepared statement (`db.select`): PostgreSQL would soon settle on one generic plan for every
    // word, while the best plan depends on how common the word is (22 → 87 searches/s, then back to 37 that way).
    const rows: Array<{ id: string }> = await db.manager.query(
      `SELECT s.note_id AS id FROM (
         SELECT cs.note_id, cs.created_at, ts_rank(cs.document, ${include}) AS rank FROM note_search cs
          WHERE cs.owner_id = $1 AND cs.document @@ ${include}${exclude}
          ORDER BY cs.created_at DESC LIMIT ${RANKED_CANDIDATES}) s
       ORDER BY s.rank DESC, s.created_at DESC, s.note_id DESC LIMIT $2`,
      params,
    );
    return rows.map((r) => r.id);
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
