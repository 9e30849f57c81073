import { Database } from '@kiroku/persistence';
import { EntityManager, SelectQueryBuilder } from 'typeorm';
import { Note } from '../note.entity';
import { ParsedQuery, SearchTerm } from './query';
import { indexText } from './text';

export interface Relevance {
  expression: string;
  direction: 'ASC' | 'DESC';
}

export interface IndexedNote {
  id: string;
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
  abstract match(qb: SelectQueryBuilder<Note>, query: ParsedQuery): Relevance | null;

  static for(db: Database): SearchIndex {
    return db.engine === 'postgres' ? new PostgresSearchIndex() : new SqliteSearchIndex();
  }
}

/** A phrase of index tokens in FTS5 syntax; a lone CJK character becomes a prefix of the bigrams it starts. */
function fts5Phrase(term: SearchTerm): string {
  const phrase = `"${term.tokens.join(' ').replace(/"/g, '""')}"`;
  return term.tokens.length === 1 && [...term.tokens[0]].length === 1 && /[^\p{ASCII}]/u.test(term.tokens[0]) ? `${phrase}*` : phrase;
}

class SqliteSearchIndex extends SearchIndex {
  async write(m: EntityManager, note: IndexedNote): Promise<void> {
    const [row] = await m.query('SELECT "fts_rowid" FROM "notes_fts_map" WHERE "note_id" = ?', [note.id]);
    const values = [indexText(note.title), note.tags.join(' '), indexText(note.body)];
    if (row) {
      await m.query('UPDATE "notes_fts" SET "title" = ?, "tags" = ?, "body" = ? WHERE "rowid" = ?', [...values, row.fts_rowid]);
      return;
    }
    await m.query('INSERT INTO "notes_fts" ("title", "tags", "body") VALUES (?, ?, ?)', values);
    await m.query('INSERT INTO "notes_fts_map" ("note_id", "fts_rowid") VALUES (?, last_insert_rowid())', [note.id]);
  }

  async remove(m: EntityManager, noteIds: string[]): Promise<void> {
    if (noteIds.length === 0) return;
    const marks = noteIds.map(() => '?').join(', ');
    await m.query(`DELETE FROM "notes_fts" WHERE "rowid" IN (SELECT "fts_rowid" FROM "notes_fts_map" WHERE "note_id" IN (${marks}))`, noteIds);
    await m.query(`DELETE FROM "notes_fts_map" WHERE "note_id" IN (${marks})`, noteIds);
  }

  match(qb: SelectQueryBuilder<Note>, query: ParsedQuery): Relevance | null {
    let rank: Relevance | null = null;
    if (query.include.length) {
      qb.innerJoin('notes_fts_map', 'fts_map', 'fts_map.note_id = n.id')
        .innerJoin('notes_fts', 'notes_fts', 'notes_fts.rowid = fts_map.fts_rowid')
        .andWhere('notes_fts MATCH :ftsInclude', { ftsInclude: query.include.map(fts5Phrase).join(' AND ') });
      // bm25: lower is better; title counts most, then tags, then the body.
      rank = { expression: 'bm25(notes_fts, 10.0, 6.0, 1.0)', direction: 'ASC' };
    }
    if (query.exclude.length) {
      qb.andWhere(
        'n.id NOT IN (SELECT "note_id" FROM "notes_fts_map" WHERE "fts_rowid" IN (SELECT "rowid" FROM "notes_fts" WHERE "notes_fts" MATCH :ftsExclude))',
        { ftsExclude: query.exclude.map(fts5Phrase).join(' OR ') },
      );
    }
    return rank;
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

  match(qb: SelectQueryBuilder<Note>, query: ParsedQuery): Relevance | null {
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
      qb.innerJoin('note_search', 'ns', 'ns.note_id = n.id').andWhere(`ns.document @@ ${q}`);
      rank = { expression: `ts_rank(ns.document, ${q})`, direction: 'DESC' };
    }
    if (query.exclude.length) {
      qb.andWhere(`n.id NOT IN (SELECT "note_id" FROM "note_search" WHERE "document" @@ (${tsquery(query.exclude, 'tsEx', ' || ')}))`);
    }
    return rank;
  }
}
