import { Database } from '@kiroku/persistence';
import { EntityManager, SelectQueryBuilder } from 'typeorm';
import { Note } from '../note.entity';
import { ParsedQuery, SearchTerm } from './query';
import { indexText } from './text';

export interface Relevance {
  expression: string;
  direction: 'ASC' | 'DESC';
}

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
}

/**
 * The full-text index of one engine. Writes happen inside the caller's
 * transaction, so a note and its index entry change together. Query text
 * only ever travels as bound parameters.
 */
export abstract class SearchIndex {
  abstract write(m: EntityManager, note: IndexedNote): Promise<void>;
  abstract remove(m: EntityManager, noteIds: string[]): Promise<void>;
  /** Restricts qb (alias `n`) to notes matching the query's words; returns how to order by relevance. */
  abstract match(qb: SelectQueryBuilder<Note>, query: ParsedQuery, ownerId: string): Relevance | null;

  static for(db: Database): SearchIndex {
    return db.engine === 'postgres' ? new PostgresSearchIndex() : new SqliteSearchIndex();
  }
}

/** A phrase of index tokens in FTS5 syntax; a lone CJK character becomes a prefix of the bigrams it starts. */
function fts5Phrase(term: SearchTerm): string {
  const phrase = `"${term.tokens.join(' ').replace(/"/g, '""')}"`;
  return term.tokens.length === 1 && [...term.tokens[0]].length === 1 && /[^\p{ASCII}]/u.test(term.tokens[0]) ? `${phrase}*` : phrase;
}

/** The owner as one FTS token, so that a search only ever walks its owner's entries. */
const ownerToken = (ownerId: string) => `o${ownerId.replace(/-/g, '')}`;

class SqliteSearchIndex extends SearchIndex {
  async write(m: EntityManager, note: IndexedNote): Promise<void> {
    const [row] = await m.query('SELECT "fts_rowid" FROM "notes_fts_map" WHERE "note_id" = ?', [note.id]);
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

  match(qb: SelectQueryBuilder<Note>, query: ParsedQuery, ownerId: string): Relevance | null {
    const owner = `owner : "${ownerToken(ownerId)}"`;
    const terms = (list: SearchTerm[], op: string) => `{title tags body} : (${list.map(fts5Phrase).join(` ${op} `)})`;
    if (query.include.length) {
      const match = `${owner} AND ${terms(query.include, 'AND')}${query.exclude.length ? ` NOT ${terms(query.exclude, 'OR')}` : ''}`;
      // The newest matches in FTS5's own rowid order, ranked among themselves (bm25: lower is better;
      // title counts most, then tags, then the body).
      qb.innerJoin('notes_fts_map', 'fts_map', 'fts_map.note_id = n.id').innerJoin(
        `(SELECT "rowid" AS "fts_rowid", bm25("notes_fts", 0.0, 10.0, 6.0, 1.0) AS "fts_rank" FROM "notes_fts" WHERE "notes_fts" MATCH :ftsMatch ORDER BY "rowid" DESC LIMIT ${RANKED_CANDIDATES})`,
        'hits',
        'hits.fts_rowid = fts_map.fts_rowid',
        { ftsMatch: match },
      );
      return { expression: 'hits.fts_rank', direction: 'ASC' };
    }
    if (query.exclude.length) {
      qb.andWhere(
        'n.id NOT IN (SELECT "note_id" FROM "notes_fts_map" WHERE "fts_rowid" IN (SELECT "rowid" FROM "notes_fts" WHERE "notes_fts" MATCH :ftsExclude))',
        { ftsExclude: `${owner} AND ${terms(query.exclude, 'OR')}` },
      );
    }
    return null;
  }
}

class PostgresSearchIndex extends SearchIndex {
  async write(m: EntityManager, note: IndexedNote): Promise<void> {
    await m.query(
      `INSERT INTO "note_search" ("note_id", "document")
       VALUES ($1, setweight(to_tsvector('simple', $2), 'A') || setweight(to_tsvector('simple', $3), 'A') || setweight(to_tsvector('simple', $4), 'B'))
       ON CONFLICT ("note_id") DO UPDATE SET "document" = EXCLUDED."document"`,
      [note.id, indexText(note.title), note.tags.join(' '), indexText(note.body)],
    );
  }

  async remove(m: EntityManager, noteIds: string[]): Promise<void> {
    if (noteIds.length === 0) return;
    await m.query('DELETE FROM "note_search" WHERE "note_id" = ANY($1)', [noteIds]);
  }

  match(qb: SelectQueryBuilder<Note>, query: ParsedQuery, ownerId: string): Relevance | null {
    const tsquery = (terms: SearchTerm[], prefix: string, joiner: string) =>
      terms
        .map((term, i) => {
          const name = `${prefix}${i}`;
          const single = term.tokens.length === 1 && [...term.tokens[0]].length === 1 && /[^\p{ASCII}]/u.test(term.tokens[0]);
          qb.setParameter(name, term.tokens.join(' '));
          return single ? `to_tsquery('simple', quote_literal(:${name}) || ':*')` : `phraseto_tsquery('simple', :${name})`;
        })
        .join(joiner);
    let rank: Relevance | null = null;
    if (query.include.length) {
      const q = `(${tsquery(query.include, 'tsIn', ' && ')})`;
      // The owner's newest matches, ranked among themselves.
      qb.innerJoin(
        `(SELECT s.note_id AS hit_id, ts_rank(s.document, ${q}) AS hit_rank FROM (
            SELECT cs.note_id, cs.document FROM note_search cs INNER JOIN notes cn ON cn.id = cs.note_id
             WHERE cs.document @@ ${q} AND cn.owner_id = :hitOwner AND cn.deleted_at IS NULL
             ORDER BY cn.created_at DESC LIMIT ${RANKED_CANDIDATES}) s)`,
        'hits',
        'hits.hit_id = n.id',
        { hitOwner: ownerId },
      );
      rank = { expression: 'hits.hit_rank', direction: 'DESC' };
    }
    if (query.exclude.length) {
      qb.andWhere(`n.id NOT IN (SELECT "note_id" FROM "note_search" WHERE "document" @@ (${tsquery(query.exclude, 'tsEx', ' || ')}))`);
    }
    return rank;
  }
}
