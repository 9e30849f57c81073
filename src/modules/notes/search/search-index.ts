import { Database, SqlParam, type WriteStatement } from '@kiroku/persistence';
import { EntityManager } from 'typeorm';
import { ParsedQuery, SearchTerm } from './query';
import { indexText, tokens } from './text';

/**
 * Which results a search walk goes through, each newest first: `all` the matches; for relevance, `head` those
 * with every included word (or phrase) in the title or the tags, then `rest` the others.
 */
export type SearchPart = 'all' | 'head' | 'rest';

/**
 * How a part of a PostgreSQL search reads its matches: `walk` the reader's entries newest first, checking each
 * one's document, until the page is full; `gather` every match from the GIN index and sort them. A walk costs
 * the entries it passes (page ÷ the words' frequency), a gather every match in the table.
 */
export type SearchShape = 'walk' | 'gather';

/** Whose notes a list or a search goes through: the reader's own, the team's (every `team` note, the reader's too), or both. */
export type Scope = 'mine' | 'team' | 'all';
export const SCOPES: Scope[] = ['mine', 'team', 'all'];

/** The notes a walk may find: `scope` as seen by `ownerId`. */
export interface Reach {
  ownerId: string;
  scope: Scope;
}

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
  /** The same order over a page of the walk selected as `key_at` and `note_id` (alias `w`). */
  pageOrderBy: string;
}

export interface IndexedNote {
  id: string;
  ownerId: string;
  title: string;
  body: string;
  tags: string[];
  createdAt: Date;
  /** Visibility team: found by the team's searches too. */
  team?: boolean;
}

/**
 * The full-text index of one engine. Writes happen inside the caller's
 * transaction, so a note and its index entry change together. Query text
 * only ever travels as bound parameters.
 */
export abstract class SearchIndex {
  /** Writes (or replaces) the note's entry. */
  abstract write(m: EntityManager, note: IndexedNote): Promise<void>;

  /** Writes the entries of many notes that have none yet, oldest first (a rebuild into an empty index). */
  abstract writeMany(m: EntityManager, notes: IndexedNote[]): Promise<void>;
  abstract remove(m: EntityManager, noteIds: string[]): Promise<void>;

  /** Removes every entry (before a rebuild over a partly copied database). */
  abstract clear(m: EntityManager): Promise<void>;

  /**
   * A walk through one part of the owner's notes matching the query's words, newest first, after `after`
   * (null: from the newest); values appended to `params`. It reads index entries in the index's own order and
   * stops at the LIMIT the caller adds, so its cost follows the page, not the number of matches. Trashed
   * notes are not in the index. Exclusions are applied here; tags are not. `reach`: the owner's entries, the
   * team's, or both. `shape` (PostgreSQL, the reader's own notes or the team's; see SearchStatistics): the way to read,
   * written into the statement so that no plan but that one can serve it; without it PostgreSQL chooses.
   */
  abstract walk(query: ParsedQuery, reach: Reach, part: SearchPart, after: SearchKey | null, params: SqlParam[], shape?: SearchShape): SearchWalk;

  /**
   * A condition on notes (alias `n`) that keeps those without the excluded
   * words, for queries with no included word; its values are appended to params.
   */
  abstract exclude(query: ParsedQuery, reach: Reach, params: SqlParam[]): string;

  static for(db: Pick<Database, 'engine'>): SearchIndex {
    return db.engine === 'postgres' ? new PostgresSearchIndex() : new SqliteSearchIndex();
  }
}

/** A term in FTS5 syntax: the phrase of its tokens, `*` after it when its last token is a prefix. */
function fts5Phrase(term: SearchTerm): string {
  const phrase = `"${term.tokens.join(' ').replace(/"/g, '""')}"`;
  return term.prefix ? `${phrase}*` : phrase;
}

/** A group of terms in FTS5 syntax: any of them. */
const fts5Group = (group: SearchTerm[]) => (group.length === 1 ? fts5Phrase(group[0]) : `(${group.map(fts5Phrase).join(' OR ')})`);

/** A lexeme in tsquery or tsvector text, quoted (tokens are letters, digits and marks, but quoting costs nothing). */
const lexeme = (token: string) => `'${token.replace(/['\\]/g, (c) => c + c)}'`;

/**
 * A term as tsquery text, read by a cast (`::tsquery`), which takes the lexemes as given: to_tsquery would run
 * them through PostgreSQL's parser again.
 */
function pgTerm(term: SearchTerm): string {
  const last = term.tokens.length - 1;
  return term.tokens.map((token, i) => `${lexeme(token)}${i === last && term.prefix ? ':*' : ''}`).join(' <-> ');
}

/** Any of the terms, as tsquery text. */
const pgAny = (terms: SearchTerm[]) => terms.map((term) => `(${pgTerm(term)})`).join(' | ');

/** Groups of terms as tsquery text: every group, each any of its terms. */
const pgGroups = (groups: SearchTerm[][]) => groups.map((group) => `(${group.map((term) => `(${pgTerm(term)})`).join(' | ')})`).join(' & ');

/**
 * The note's PostgreSQL document as tsvector text, cast rather than built by to_tsvector: the title and the
 * tags (weight A), then the body (weight B), each column's tokens a position apart and the columns two apart,
 * so that a phrase never runs from one column into the next (as in FTS5). PostgreSQL keeps positions up to
 * 16,383 (and 256 per lexeme), as to_tsvector does.
 */
export function pgDocument(note: Pick<IndexedNote, 'title' | 'tags' | 'body'>): string {
  const positions = new Map<string, string[]>();
  let at = 0;
  for (const [text, weight] of [
    [note.title, 'A'],
    [note.tags.join(' '), 'A'],
    [note.body, 'B'],
  ] as const) {
    for (const token of tokens(text)) {
      at = Math.min(at + 1, 16_383);
      const list = positions.get(token) ?? [];
      if (list.length < 256) list.push(`${at}${weight}`);
      positions.set(token, list);
    }
    at = Math.min(at + 1, 16_383);
  }
  return [...positions].map(([token, list]) => `${lexeme(token)}:${list.join(',')}`).join(' ');
}

/**
 * SQLite: the statements that write the search entries of notes which have none yet (a create's, an import's:
 * none is looked for), given oldest first, below every other entry, since the lowest rowids are the newest
 * (migration NumberSearchEntriesNewestFirst). They are written in rising rowid order, the newest note's first:
 * FTS5 writes its pending terms out as a new segment whenever a rowid is lower than the one before, which
 * writing them oldest first did at every note (an import's index work 3.7 times as long, a rebuild 8 times). `$`
 * writes the i-th (1-based) parameter, each used once and in order.
 */
export function sqliteEntryStatements(notes: IndexedNote[], $: (i: number) => string = (i) => `$${i}`): WriteStatement[] {
  return notes
    .map((note, i) => {
      // The newest is n below the lowest entry; each older one a rowid above the one written before it.
      const rowid =
        i === notes.length - 1
          ? `(SELECT coalesce(min("fts_rowid"), 1) - ${$(1)} FROM "notes_fts_map")`
          : `(SELECT "fts_rowid" + 1 FROM "notes_fts_map" WHERE "note_id" = ${$(1)})`;
      return [
        {
          sql: `INSERT INTO "notes_fts" ("rowid", "owner", "title", "tags", "body") VALUES (${rowid}, ${$(2)}, ${$(3)}, ${$(4)}, ${$(5)})`,
          params: [i === notes.length - 1 ? notes.length : notes[i + 1].id, ...ftsValues(note)],
        },
        { sql: `INSERT INTO "notes_fts_map" ("note_id", "fts_rowid") VALUES (${$(1)}, last_insert_rowid())`, params: [note.id] },
      ];
    })
    .reverse()
    .flat();
}

/** An FTS entry's owner, title, tags and body columns. */
const ftsValues = (note: IndexedNote): SqlParam[] => [ownerColumn(note), indexText(note.title), indexText(note.tags.join(' ')), indexText(note.body)];

/** The owner as one FTS token, so that a search only ever walks its owner's entries. */
const ownerToken = (ownerId: string) => `o${ownerId.replace(/-/g, '')}`;
/** The token a team note's owner column also holds (never an owner's: those are `o` and 32 hex digits). */
const TEAM_TOKEN = 'team';
/** An entry's owner column: its owner's token, and the team's for a team note. */
const ownerColumn = (note: IndexedNote) => (note.team ? `${ownerToken(note.ownerId)} ${TEAM_TOKEN}` : ownerToken(note.ownerId));

class SqliteSearchIndex extends SearchIndex {
  async write(m: EntityManager, note: IndexedNote): Promise<void> {
    const [row] = await m.query<Array<{ fts_rowid: number }>>('SELECT "fts_rowid" FROM "notes_fts_map" WHERE "note_id" = ?', [note.id]);
    if (row) {
      await m.query('UPDATE "notes_fts" SET "owner" = ?, "title" = ?, "tags" = ?, "body" = ? WHERE "rowid" = ?', [...ftsValues(note), row.fts_rowid]);
      return;
    }
    await this.writeMany(m, [note]);
  }

  /** The batch below every other entry, newest lowest, written in rising rowid order (sqliteEntryStatements). */
  async writeMany(m: EntityManager, notes: IndexedNote[]): Promise<void> {
    for (const { sql, params = [] } of sqliteEntryStatements(notes, () => '?')) await m.query(sql, [...params]);
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

  walk(query: ParsedQuery, reach: Reach, part: SearchPart, after: SearchKey | null, params: SqlParam[]): SearchWalk {
    // FTS5 walks a MATCH in rowid order and stops at the LIMIT: the newest entries (the lowest rowids) come first
    // without reading the others, and the owner's long doclist is skipped through, not read. The head is the
    // words in the title or tags columns; the rest, the other matches.
    const words = ftsGroups(query.include);
    const head = ftsGroups(query.include, '{title tags}');
    const found = part === 'head' ? head : part === 'rest' ? `(${words} NOT ${head})` : words;
    const excluded = query.exclude.length ? ` NOT ${ftsAny(query.exclude)}` : '';
    params.push(`(${ownerMatch(reach)} AND ${found}${query.tags.map(tagsMatch).join('')})${excluded}`);
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
      pageOrderBy: 'ORDER BY w."key_at" ASC',
    };
  }

  exclude(query: ParsedQuery, reach: Reach, params: SqlParam[]): string {
    params.push(`${ownerMatch(reach)} AND ${ftsAny(query.exclude)}`);
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
  const text = indexText(tag);
  return text ? ` AND tags : "${text}"` : '';
};
/** The entries of the reach, by their owner column. */
const ownerMatch = ({ ownerId, scope }: Reach) =>
  scope === 'mine'
    ? `owner : "${ownerToken(ownerId)}"`
    : scope === 'team'
      ? `owner : "${TEAM_TOKEN}"`
      : `owner : ("${ownerToken(ownerId)}" OR "${TEAM_TOKEN}")`;
/** Every group of terms, in these columns. */
const ftsGroups = (groups: SearchTerm[][], columns = '{title tags body}') => `${columns} : (${groups.map(fts5Group).join(' AND ')})`;
/** Any of the terms, in any column. */
const ftsAny = (terms: SearchTerm[]) => `{title tags body} : (${terms.map(fts5Phrase).join(' OR ')})`;

class PostgresSearchIndex extends SearchIndex {
  async write(m: EntityManager, note: IndexedNote): Promise<void> {
    await this.writeMany(m, [note]);
  }

  /**
   * One statement for the whole batch: a rebuild of 100,000 notes would otherwise be 100,000 round trips.
   * Each entry carries its note's owner and creation time, so that a search reads note_search alone.
   */
  async writeMany(m: EntityManager, notes: IndexedNote[]): Promise<void> {
    if (notes.length === 0) return;
    await m.query(
      `INSERT INTO "note_search" ("note_id", "owner_id", "created_at", "document")
       SELECT id, owner_id, created_at, document::tsvector
         FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[]) AS n(id, owner_id, created_at, document)
       ON CONFLICT ("note_id") DO UPDATE SET "document" = EXCLUDED."document"`,
      [notes.map((n) => n.id), notes.map((n) => n.ownerId), notes.map((n) => n.createdAt.getTime()), notes.map(pgDocument)],
    );
  }

  async remove(m: EntityManager, noteIds: string[]): Promise<void> {
    if (noteIds.length === 0) return;
    await m.query('DELETE FROM "note_search" WHERE "note_id" = ANY($1)', [noteIds]);
  }

  async clear(m: EntityManager): Promise<void> {
    await m.query('DELETE FROM "note_search"');
  }

  walk(query: ParsedQuery, reach: Reach, part: SearchPart, after: SearchKey | null, params: SqlParam[], shape?: SearchShape): SearchWalk {
    if (shape && reach.scope === 'all') throw new Error('A search of mine and the team has no shape of its own.');
    // A gather's reach is written so that no index serves it (a function call; `team IS NOT FALSE`, which does not
    // prove the partial index's `team`): its only index is the GIN index. A walk's match is a function call too
    // (ts_match_vq is what @@ runs), so the reach's index walk is its only way.
    const where = [
      shape !== 'gather' ? pgReach(reach, params) : reach.scope === 'team' ? 's.team IS NOT FALSE' : `texteq(s.owner_id, $${params.push(reach.ownerId)})`,
    ];
    params.push(pgGroups(query.include));
    const words = `$${params.length}::tsquery`;
    // A gather's words are a sub-select, which PostgreSQL does not look into when it plans: the kept generic
    // plan and one planned for the values cost the same, so it keeps the generic one (it plans anew whenever
    // one planned for the values would look cheaper, as it would for a rare word).
    const match = (column: 'head' | 'document') =>
      shape === 'walk' ? `ts_match_vq(s.${column}, ${words})` : `s.${column} @@ ${shape === 'gather' ? `(SELECT ${words})` : words}`;
    // With a shape, the conditions no index serves are function calls too: PostgreSQL's estimate of a function
    // does not depend on its values, so a plan for the values never looks cheaper than the kept one.
    const without = (column: 'head' | 'document', tsquery: string) => (shape ? `NOT ts_match_vq(s.${column}, ${tsquery})` : `NOT (s.${column} @@ ${tsquery})`);
    // The title and tags are `head` (weight A of the document, in a column of its own: migration
    // SearchTitlesApart), so that the planner knows how often the words are in titles.
    if (part === 'head') where.push(match('head'));
    else where.push(match('document'), ...(part === 'rest' ? [without('head', words)] : []));
    if (query.exclude.length) {
      params.push(pgAny(query.exclude));
      where.push(without('document', `$${params.length}::tsquery`));
    }
    if (after) {
      params.push(after.at, after.id);
      const [at, id] = [`$${params.length - 1}`, `$${params.length}`];
      where.push(`(s.created_at < ${at} OR (s.created_at = ${at} AND s.note_id < ${id}))`);
    }
    // Without a shape, PostgreSQL either walks the owner's entries newest first (idx_note_search_owner_created)
    // checking each document, or gathers a rare word's matches from the GIN index and sorts those: it picks by
    // the word's frequency, which is why such a statement is planned at each call (see NotesRepository.searchRows).
    return {
      from: 'note_search s',
      where,
      noteId: 's.note_id',
      at: 's.created_at',
      orderBy: 'ORDER BY s.created_at DESC, s.note_id DESC',
      pageOrderBy: 'ORDER BY w."key_at" DESC, w."note_id" DESC',
    };
  }

  exclude(query: ParsedQuery, reach: Reach, params: SqlParam[]): string {
    const within = pgReach(reach, params, '');
    params.push(pgAny(query.exclude));
    return `n.id NOT IN (SELECT "note_id" FROM "note_search" WHERE ${within} AND "document" @@ $${params.length}::tsquery)`;
  }
}

/**
 * The entries of the reach (`team` is filled in from the note by a trigger: migration AddTeamVisibility): the
 * owner's on idx_note_search_owner_created, the team's on the partial idx_note_search_team_created.
 */
function pgReach({ ownerId, scope }: Reach, params: SqlParam[], alias = 's.'): string {
  if (scope === 'team') return `${alias}team`;
  params.push(ownerId);
  const owner = `${alias}owner_id = $${params.length}`;
  return scope === 'mine' ? owner : `(${owner} OR ${alias}team)`;
}
