import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Database, keysetSql, type KeysetPosition, SqlParam, type WriteStatement } from '@kiroku/persistence';
import { EntityManager, IsNull, Not } from 'typeorm';
import type { ListOrder } from './cursor';
import { NoteRevision } from './note-revision.entity';
import { NoteTag } from './note-tag.entity';
import { Note, splitTagNames, Visibility } from './note.entity';
import { ParsedQuery } from './search/query';
import { IndexedNote, pgDocument, Reach, SearchIndex, SearchKey, SearchPart, SearchShape, sqliteEntryStatements } from './search/search-index';
import { PartPlan, SearchStatistics } from './search/search-statistics';

/** A note as read: its row and its tag names. */
export interface NoteView {
  id: string;
  ownerId: string;
  title: string;
  body: string;
  tags: string[];
  visibility: Visibility;
  /** Members may edit it too while it is a team note. */
  editableByTeam: boolean;
  pinned: boolean;
  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
  /** Raised by every write. */
  version: number;
  /** Who wrote this version; null when unknown. */
  updatedBy: string | null;
}

/** A note to write, with its tags (unique, in order). */
export type NoteRecord = Omit<NoteView, 'deletedAt'>;

/** A note as it was at one of its earlier versions. */
export interface RevisionView {
  noteId: string;
  version: number;
  title: string;
  body: string;
  tags: string[];
  visibility: Visibility;
  editableByTeam: boolean;
  authorId: string | null;
  savedAt: Date;
}

/** What became of a change (NotesRepository.revise). */
export type Revised =
  | { outcome: 'written'; note: NoteView }
  | { outcome: 'unchanged'; note: NoteView }
  /** The note is at another version than the one the change started from: nothing was written. */
  | { outcome: 'stale'; note: NoteView }
  | { outcome: 'missing' };

/** Which versions a change may apply to: any (null), or these. */
export type ExpectedVersions = readonly number[] | null;

/** A note's row in the search walk of a rebuild: owner by owner, each owner's oldest first. */
export type IndexPosition = [ownerId: string, createdAt: number, id: string];

type Content = Pick<NoteView, 'title' | 'body' | 'tags' | 'visibility' | 'editableByTeam'>;

/**
 * Whether two states have the same content, all that a revision keeps: title, body, tags (as a set in order),
 * visibility and whether the team may edit it (who may read or change a note is part of its history).
 */
export function sameContent(a: Content, b: Content): boolean {
  return (
    a.title === b.title && a.body === b.body && a.visibility === b.visibility && a.editableByTeam === b.editableByTeam && a.tags.join(' ') === b.tags.join(' ')
  );
}

function revisionView(r: NoteRevision): RevisionView {
  return {
    noteId: r.noteId,
    version: r.version,
    title: r.title,
    body: r.body,
    tags: splitTagNames(r.tagNames),
    visibility: r.visibility,
    editableByTeam: r.editableByTeam,
    authorId: r.authorId,
    savedAt: r.savedAt,
  };
}

/**
 * A list's order within its part (pinned or not), on the (owner_id, pinned, updated_at | created_at, id) indexes
 * (and the team's on the (visibility, updated_at | created_at, id) ones).
 */
const LIST_COLUMNS: Record<ListOrder, { at: string; id: string }> = {
  updated: { at: 'n.updated_at', id: 'n.id' },
  created: { at: 'n.created_at', id: 'n.id' },
};

/**
 * A tag filter that fewer of the reader's notes carry than this is read from the tag's notes (note_tags) and
 * sorted, not found by walking the list in order: the walk read every note of the account for a tag on a few old
 * ones (57 ms at 100,000 notes on PostgreSQL for a tag on one note). A tag on more notes is met within the first
 * few thousand of a walk.
 */
export const RARE_TAG_NOTES = 1_000;

/**
 * The LIMITs of a search statement whose plan the application chose: its text holds its LIMIT (see
 * searchPartSql), rounded up to one of these, so that a connection keeps a few such statements per shape, not
 * one per page size (each kept statement holds memory in its PostgreSQL session).
 */
const PLANNED_TAKES = [11, 21, 51, 101];

/** A note's instant in each list order, as LIST_COLUMNS reads it. */
export const LIST_AT: Record<ListOrder, (note: NoteView) => number> = {
  updated: (note) => note.updatedAt.getTime(),
  created: (note) => note.createdAt.getTime(),
};

/**
 * Up to `limit + 1` rows of `count` parts from `fromPart` on (a list's: 0 the pinned notes, 1 the others; a
 * search's: its parts in order), one part after another while the page is not full, each read by
 * `page(part, after, limit)` (up to `limit + 1` rows; `after` only in `fromPart`); each row with its part.
 */
export async function walkParts<T extends object, K>(
  count: number,
  fromPart: number,
  after: K | null,
  limit: number,
  page: (part: number, after: K | null, limit: number) => Promise<T[]>,
): Promise<Array<T & { part: number }>> {
  const found: Array<T & { part: number }> = [];
  for (let part = fromPart; part < count && found.length <= limit; part++) {
    const rows = await page(part, part === fromPart ? after : null, limit - found.length);
    found.push(...rows.map((row) => ({ ...row, part })));
  }
  return found;
}

/** A list's parts for walkParts: part 0 the reader's pinned notes, 1 the others, each read by `page`. */
export const listPart =
  (page: (pinned: boolean, after: KeysetPosition | null, limit: number) => Promise<NoteView[]>) =>
  async (part: number, after: KeysetPosition | null, limit: number): Promise<Array<{ note: NoteView }>> =>
    (await page(part === 0, after, limit)).map((note) => ({ note }));

/** A search's parts for walkParts: part i is `parts[i]`, read by `page`, which takes exactly `take` rows (walkParts asks for up to `limit + 1`). */
export const searchPart =
  (parts: SearchPart[], page: (part: SearchPart, after: SearchKey | null, take: number) => Promise<Array<{ note: NoteView; key: SearchKey }>>) =>
  (part: number, after: SearchKey | null, limit: number): Promise<Array<{ note: NoteView; key: SearchKey }>> =>
    page(parts[part], after, limit + 1);

/** Rows of parts put in part order, each part's rows latest first (`at`, then id), as their statements read them: UNION ALL promises no order of its own. */
function inPartOrder<T extends { part: number }>(rows: T[], at: (row: T) => number, id: (row: T) => string): T[] {
  return rows.sort((a, b) => a.part - b.part || at(b) - at(a) || (id(a) < id(b) ? 1 : id(a) > id(b) ? -1 : 0));
}

/**
 * Notes, their tags (tags, note_tags) and their search entries: the only SQL
 * on these tables. A note, its tags and its search entry change together, in
 * one transaction. Reads on the hot paths (a note, a page, a search page) are
 * statements of constant text kept prepared (`Database.select`).
 */
@Injectable()
export class NotesRepository {
  private readonly index: SearchIndex;
  /** PostgreSQL: the words' frequencies, from which a search's plan is chosen (null on SQLite, where FTS5 walks). */
  private readonly statistics: SearchStatistics | null;

  constructor(private readonly db: Database) {
    this.index = SearchIndex.for(db);
    this.statistics = db.engine === 'postgres' ? new SearchStatistics(db, (part) => this.gatherProbe(part)) : null;
  }

  /**
   * Inserts the notes (oldest first) with their tags and search entries, and the `alongside` statements after
   * them (an audit event): all of it or, on an error, none.
   */
  async insert(notes: NoteRecord[], alongside: readonly WriteStatement[] = []): Promise<void> {
    const index = this.db.engine === 'sqlite' ? sqliteEntryStatements(notes.map(indexedNote)) : [];
    await this.db.executeAll([...notes.flatMap((note) => this.insertStatements(note)), ...index, ...alongside]);
  }

  /**
   * Changes a note outside the trash, its row locked meanwhile (PostgreSQL: FOR UPDATE; SQLite: the write
   * transaction), so that every replica and worker sees one order of writes. `may` is asked first, with the
   * note as it is now: false makes it `missing` (it may also throw, which writes nothing); only then is the
   * version compared, so that a version tells nothing about a note one may not change. `change` gets the note
   * and gives the next state (its version one higher), or null when nothing changes. With `expected`, only a
   * note still at one of those versions is changed. The state a change of content replaces (see sameContent)
   * is kept as a revision.
   */
  revise(id: string, expected: ExpectedVersions, may: (current: NoteView) => boolean, change: (current: NoteView) => NoteRecord | null): Promise<Revised> {
    return this.db.transaction(async (m): Promise<Revised> => {
      const current = await this.lock(m, id);
      if (!current || !may(current)) return { outcome: 'missing' };
      if (expected && !expected.includes(current.version)) return { outcome: 'stale', note: current };
      const next = change(current);
      if (!next) return { outcome: 'unchanged', note: current };
      if (!sameContent(current, next)) await this.keepRevision(m, id);
      const written = await m.update(
        Note,
        { id, version: current.version },
        {
          title: next.title,
          body: next.body,
          visibility: next.visibility,
          editableByTeam: next.editableByTeam,
          updatedAt: next.updatedAt,
          updatedBy: next.updatedBy,
          version: next.version,
        },
      );
      if (written.affected !== 1) throw new Error(`note ${id} changed under its lock`);
      await this.setTags(m, next);
      return { outcome: 'written', note: { ...next, deletedAt: null } };
    });
  }

  /**
   * Pins or unpins the owner's note outside the trash: its place in the list, not its content, so neither its
   * update time nor its search entry changes. False when the owner has no such note.
   */
  async setPinned(ownerId: string, id: string, pinned: boolean): Promise<boolean> {
    // In a transaction of the write queue: on SQLite a statement outside it could land in another's transaction.
    const result = await this.db.transaction((m) => m.update(Note, { id, ownerId, deletedAt: IsNull() }, { pinned }));
    return result.affected === 1;
  }

  /**
   * Moves the owner's note to the trash and out of search; `missing` when the owner has no such note outside
   * the trash, `stale` when it is not at one of the `expected` versions.
   */
  trash(ownerId: string, id: string, at: Date, expected: ExpectedVersions = null): Promise<'trashed' | 'missing' | 'stale'> {
    return this.db.transaction(async (m) => {
      const current = await this.lock(m, id);
      if (!current || current.ownerId !== ownerId) return 'missing';
      if (expected && !expected.includes(current.version)) return 'stale';
      await m.update(Note, { id, version: current.version }, { deletedAt: at });
      await this.index.remove(m, [id]);
      return 'trashed';
    });
  }

  /** The note's revisions before version `before` (all when null), newest first, at most `take`. */
  async revisions(noteId: string, before: number | null, take: number): Promise<RevisionView[]> {
    const r = this.db.columns(NoteRevision, 'r');
    const rows = await this.db.selectValues(`SELECT ${r.sql} FROM note_revisions r WHERE r.note_id = $1 AND r.version < $2 ORDER BY r.version DESC LIMIT $3`, [
      noteId,
      before ?? 2 ** 31 - 1,
      take,
    ]);
    return rows.map((values) => revisionView(r.read(values)));
  }

  /** The note's revision of that version, if it is kept. */
  async revision(noteId: string, version: number): Promise<RevisionView | null> {
    const r = this.db.columns(NoteRevision, 'r');
    const [values] = await this.db.selectValues(`SELECT ${r.sql} FROM note_revisions r WHERE r.note_id = $1 AND r.version = $2`, [noteId, version]);
    return values ? revisionView(r.read(values)) : null;
  }

  /** The note's oldest kept revision after version `version`, if any. */
  async revisionAfter(noteId: string, version: number): Promise<RevisionView | null> {
    const r = this.db.columns(NoteRevision, 'r');
    const [values] = await this.db.selectValues(`SELECT ${r.sql} FROM note_revisions r WHERE r.note_id = $1 AND r.version > $2 ORDER BY r.version LIMIT 1`, [
      noteId,
      version,
    ]);
    return values ? revisionView(r.read(values)) : null;
  }

  /** The note outside the trash, read in `m` with its row locked until the transaction ends. */
  private async lock(m: EntityManager, id: string): Promise<NoteView | null> {
    const n = this.db.columns(Note, 'n');
    const $ = (i: number) => this.db.placeholder(i);
    const lock = this.db.engine === 'postgres' ? ' FOR UPDATE' : '';
    const [row]: Array<Record<string, unknown>> = await m.query(`SELECT ${n.sql} FROM notes n WHERE n.id = ${$(1)} AND n.deleted_at IS NULL${lock}`, [id]);
    return row ? this.noteView(Object.values(row)) : null;
  }

  /** Copies the note's current state, as the database holds it, into its revisions. */
  private async keepRevision(m: EntityManager, id: string): Promise<void> {
    await m.query(
      `INSERT INTO note_revisions (note_id, version, title, body, tag_names, visibility, editable_by_team, author_id, saved_at)
       SELECT id, version, title, body, tag_names, visibility, editable_by_team, updated_by, updated_at FROM notes WHERE id = ${this.db.placeholder(1)}`,
      [id],
    );
  }

  /** Takes the note out of the trash and back into search. */
  async restore(note: NoteView): Promise<void> {
    await this.db.transaction(async (m) => {
      await m.update(Note, { id: note.id }, { deletedAt: null });
      await this.index.write(m, { ...note, team: note.visibility === 'team' });
    });
  }

  /** The note outside the trash, whoever owns it. */
  async find(id: string): Promise<NoteView | null> {
    const [note] = await this.notesWhere('n.id = $1 AND n.deleted_at IS NULL', [id]);
    return note ?? null;
  }

  /** The owner's note, in the trash or outside it. */
  async findOwn(ownerId: string, id: string, trashed: boolean): Promise<NoteView | null> {
    const [note] = await this.notesWhere(`n.id = $1 AND n.owner_id = $2 AND n.deleted_at IS ${trashed ? 'NOT ' : ''}NULL`, [id, ownerId]);
    return note ?? null;
  }

  /** The owner's notes in the trash, most recently trashed first (at most 500). */
  listTrash(ownerId: string): Promise<Note[]> {
    return this.db.manager.find(Note, { where: { ownerId, deletedAt: Not(IsNull()) }, order: { deletedAt: 'DESC' }, take: 500 });
  }

  /** Deletes the owner's notes in the trash for good (their tags links and search entries go with them); how many. */
  async emptyTrash(ownerId: string): Promise<number> {
    const result = await this.db.transaction((m) => m.delete(Note, { ownerId, deletedAt: Not(IsNull()) }));
    return result.affected ?? 0;
  }

  /** Deletes one of the owner's notes in the trash for good (with its tags links, search entry and history); false when there is none. */
  async deleteTrashed(ownerId: string, id: string): Promise<boolean> {
    const result = await this.db.transaction((m) => m.delete(Note, { id, ownerId, deletedAt: Not(IsNull()) }));
    return (result.affected ?? 0) > 0;
  }

  /** The ids and titles of the owner's notes outside the trash, oldest first. */
  titles(ownerId: string): Promise<Array<{ id: string; title: string }>> {
    return this.db.select<{ id: string; title: string }>('SELECT id, title FROM notes WHERE owner_id = $1 AND deleted_at IS NULL ORDER BY created_at, id', [
      ownerId,
    ]);
  }

  /** These of the owner's notes outside the trash, in no particular order. */
  byIds(ownerId: string, ids: string[]): Promise<NoteView[]> {
    return this.notesWhere(`n.owner_id = $1 AND n.deleted_at IS NULL AND n.id IN (SELECT value FROM ${this.db.jsonList('$2')})`, [
      ownerId,
      JSON.stringify(ids),
    ]);
  }

  /** The owner's tag names in order, at most 200 (an index range scan; counting notes per tag would read every note). */
  async tagNames(ownerId: string): Promise<string[]> {
    const rows = await this.db.select<{ name: string }>('SELECT name FROM tags WHERE owner_id = $1 ORDER BY name LIMIT 200', [ownerId]);
    return rows.map((t) => t.name);
  }

  /**
   * Up to `take` of the notes within `reach` in one part of a search's results (see SearchIndex.walk), newest
   * first, after `after`, with the query's tag filters; each with its place in the walk. One statement: the
   * index's walk, its notes' rows and the tag filters, stopped at `take` rows (on PostgreSQL with a plan chosen
   * by the application, at the next of PLANNED_TAKES: a few rows more than asked).
   */
  async searchPage(
    reach: Reach,
    query: ParsedQuery,
    part: SearchPart,
    after: SearchKey | null,
    take: number,
  ): Promise<Array<{ note: NoteView; key: SearchKey }>> {
    const params: SqlParam[] = [];
    const planned = this.searchPlan(reach, query, [part], take);
    const sql = this.searchPartSql(reach, query, part, after, planned?.take ?? take, params, planned?.parts[0].shape);
    return (await this.searchRows(sql, params, planned !== null)).map((values) => this.searchRow(values, 0));
  }

  /**
   * Up to `limit + 1` notes of a search's parts (`parts`, see SearchIndex.walk) from `fromPart` on, `after`
   * within `fromPart`, each with its place in the walk and its part. On PostgreSQL the parts are one statement,
   * one round trip (each part still a walk that stops at the page's end, or a gather of a rare word's matches);
   * on SQLite, where a statement is a call, one statement per part while the page is not full.
   */
  async searchParts(
    reach: Reach,
    query: ParsedQuery,
    parts: SearchPart[],
    fromPart: number,
    after: SearchKey | null,
    limit: number,
  ): Promise<Array<{ note: NoteView; key: SearchKey; part: number }>> {
    const read = parts.slice(fromPart);
    const planned = this.db.engine === 'postgres' ? this.searchPlan(reach, query, read, limit + 1) : null;
    // A part that will fill the page by itself is read alone (the next one only if it does not, as on SQLite):
    // in one statement, the next part would be read for nothing. (A planned part may read more than asked.)
    if (this.db.engine === 'sqlite' || read.length < 2 || (planned && planned.parts[0].matches >= 2 * (limit + 1)))
      return (
        await walkParts(
          parts.length,
          fromPart,
          after,
          limit,
          searchPart(parts, (part, from, take) => this.searchPage(reach, query, part, from, take)),
        )
      ).slice(0, limit + 1);
    const params: SqlParam[] = [];
    const sql = read
      .map(
        (part, i) =>
          `SELECT ${fromPart + i} AS "part", p.* FROM (${this.searchPartSql(reach, query, part, i === 0 ? after : null, planned?.take ?? limit + 1, params, planned?.parts[i].shape)}) p`,
      )
      .join(' UNION ALL ');
    const found = (await this.searchRows(sql, params, planned !== null)).map((values) => ({ ...this.searchRow(values, 1), part: Number(values[0]) }));
    return inPartOrder(
      found,
      (f) => f.key.at,
      (f) => f.key.id,
    ).slice(0, limit + 1);
  }

  /** PostgreSQL: reads the words' frequencies for search plans again now (a search reads them when they are five minutes old). */
  async refreshSearchStatistics(): Promise<void> {
    await this.statistics?.refresh();
  }

  /** A gather of `part` as the application sends it, for one owner and one word (see SearchStatistics). */
  private gatherProbe(part: SearchPart): { sql: string; literals: string[] } {
    const query: ParsedQuery = { include: [[{ raw: 'probe', tokens: ['probe'], prefix: false }]], exclude: [], tags: [], excludedTags: [] };
    const params: SqlParam[] = [];
    const sql = this.searchPartSql({ ownerId: '00000000-0000-4000-8000-000000000000', scope: 'mine' }, query, part, null, 21, params, 'gather');
    return { sql, literals: params.map((value) => `'${String(value).replace(/'/g, "''")}'`) };
  }

  /**
   * PostgreSQL: the plan of each part, chosen from the words' frequencies (SearchStatistics), and the rows each
   * reads (`take` rounded up to one of PLANNED_TAKES); null where PostgreSQL plans the statement.
   */
  private searchPlan(reach: Reach, query: ParsedQuery, parts: SearchPart[], take: number): { parts: PartPlan[]; take: number } | null {
    const rounded = PLANNED_TAKES.find((t) => t >= take);
    const plans = this.statistics && rounded !== undefined ? this.statistics.plan(reach, query, parts, rounded) : null;
    return plans && rounded !== undefined ? { parts: plans, take: rounded } : null;
  }

  /**
   * One part of a search (see searchPage) as a statement: its place in the walk ("key_at"), then the note's
   * columns. With a `shape`, the statement's text fixes its plan, the LIMIT too (as a parameter, PostgreSQL
   * would plan for a tenth of the rows, find that dearer than a plan for the values and plan at every call).
   */
  private searchPartSql(
    reach: Reach,
    query: ParsedQuery,
    part: SearchPart,
    after: SearchKey | null,
    take: number,
    params: SqlParam[],
    shape?: SearchShape,
  ): string {
    const walk = this.index.walk(query, reach, part, after, params, shape);
    const tags = this.tagFilters(query, params);
    const limit = `LIMIT ${shape ? take : `$${params.push(take)}`}`;
    const n = this.db.columns(Note, 'n');
    if (this.db.engine === 'postgres' && tags.length === 0) {
      // The page of the index first, then its notes: for a rare word PostgreSQL gathers every match from the GIN
      // index and sorts them, and joined first it read every match's note row (192 at 100,000 notes) to keep 21.
      return `SELECT w."key_at", ${n.sql} FROM (SELECT ${walk.at} AS "key_at", ${walk.noteId} AS "note_id" FROM ${walk.from}
        WHERE ${walk.where.join(' AND ')} ${walk.orderBy} ${limit}) w INNER JOIN notes n ON n.id = w."note_id" ${walk.pageOrderBy}`;
    }
    // SQLite's CROSS JOIN keeps the index walk outermost, so that its order holds and its LIMIT stops it.
    const join = this.db.engine === 'sqlite' ? 'CROSS JOIN' : 'INNER JOIN';
    return `SELECT ${walk.at} AS "key_at", ${n.sql} FROM ${walk.from} ${join} notes n ON n.id = ${walk.noteId}
        WHERE ${[...walk.where, ...tags].join(' AND ')} ${walk.orderBy} ${limit}`;
  }

  /**
   * SQLite: a statement kept prepared (its text depends only on the query's shape). PostgreSQL: kept prepared
   * when its text fixes its plan (`shaped`); otherwise planned at each search (`planEach`), not a named
   * prepared statement, which would soon settle on one generic plan for every word, while the best plan depends
   * on how common the word is.
   */
  private searchRows(sql: string, params: SqlParam[], shaped: boolean): Promise<unknown[][]> {
    return this.db.selectValues(sql, params, { planEach: !shaped });
  }

  /** A row of searchPartSql's columns, from `offset` on, as a note and its place in the walk. */
  private searchRow(values: unknown[], offset: number): { note: NoteView; key: SearchKey } {
    const note = this.noteView(values, offset + 1);
    return { note, key: { at: Number(values[offset]), id: note.id } };
  }

  /** A notes row read with `columns(Note, 'n')`, its columns from `offset` on, with its tag names as a list. */
  private noteView(values: unknown[], offset = 0): NoteView {
    const note = this.db.columns(Note, 'n').read(values, offset) as Note & { tags?: string[] };
    note.tags = splitTagNames(note.tagNames);
    return note as NoteView;
  }

  /**
   * A page of one part of the notes within `reach` outside the trash in `order`, latest first, after `after`:
   * those with the query's tags, without its excluded tags and excluded words. The parts: the reader's pinned
   * notes (pins are their owner's arrangement), then the others. Reads up to `limit + 1` notes (see keysetPage).
   * `pinned` is written into the statement (a boolean is no SQLite parameter), so each part, order and scope
   * is one statement of constant text walking its index.
   */
  page(
    reach: Reach,
    query: ParsedQuery,
    order: ListOrder,
    pinned: boolean,
    after: KeysetPosition | null,
    limit: number,
    rareTagId: string | null = null,
  ): Promise<NoteView[]> {
    const params: SqlParam[] = [reach.ownerId];
    return this.notesWhere(this.partCondition(reach, query, order, pinned, after, limit, params, rareTagId), params);
  }

  /**
   * Up to `limit + 1` notes of a list, from part `fromPart` on (0: the reader's pinned notes, 1: the others; see
   * `page`), `after` within `fromPart`, each with its part. On PostgreSQL the two parts are one statement, one
   * round trip (each part still a walk of its index that stops at the page's end); on SQLite, where a statement
   * is a call, `page` twice.
   */
  async listParts(
    reach: Reach,
    query: ParsedQuery,
    order: ListOrder,
    fromPart: number,
    after: KeysetPosition | null,
    limit: number,
  ): Promise<Array<{ note: NoteView; part: number }>> {
    const tag = await this.rareTag(reach, query);
    if (tag === 'none') return [];
    const rare = tag?.tagId ?? null;
    if (this.db.engine === 'sqlite' || fromPart > 0)
      return walkParts(
        2,
        fromPart,
        after,
        limit,
        listPart((pinned, from, take) => this.page(reach, query, order, pinned, from, take, rare)),
      );
    const params: SqlParam[] = [reach.ownerId];
    const n = this.db.columns(Note, 'n');
    const part = (pinned: boolean) =>
      `(SELECT ${pinned ? 0 : 1} AS "part", ${n.sql} FROM notes n WHERE ${this.partCondition(reach, query, order, pinned, pinned ? after : null, limit, params, rare)})`;
    const sql = `${part(true)} UNION ALL ${part(false)}`;
    const at = LIST_AT[order];
    const found = (await this.db.selectValues(sql, params)).map((values) => ({ note: this.noteView(values, 1), part: Number(values[0]) }));
    return inPartOrder(
      found,
      (f) => at(f.note),
      (f) => f.note.id,
    ).slice(0, limit + 1);
  }

  /**
   * For a list of the reader's own notes filtered by tags: the tag that the fewest notes carry, when
   * fewer than RARE_TAG_NOTES do (its notes are then read from note_tags and sorted, not found by walking the
   * list); 'none' when a tag is none of the reader's, so that no note can match; null to walk the list. Each
   * count stops at RARE_TAG_NOTES.
   */
  private async rareTag(reach: Reach, query: ParsedQuery): Promise<{ tagId: string } | 'none' | null> {
    if (reach.scope !== 'mine' || query.tags.length === 0) return null;
    const names = [...new Set(query.tags)];
    const rows = await this.db.select<{ id: string; notes: number | string }>(
      `SELECT t.id, (SELECT count(*) FROM (SELECT 1 FROM note_tags nt WHERE nt.tag_id = t.id LIMIT ${RARE_TAG_NOTES}) c) AS notes
       FROM tags t WHERE t.owner_id = $1 AND t.name IN (SELECT value FROM ${this.db.jsonList('$2')})`,
      [reach.ownerId, JSON.stringify(names)],
    );
    if (rows.length < names.length) return 'none';
    const fewest = rows.reduce((a, b) => (Number(b.notes) < Number(a.notes) ? b : a));
    return Number(fewest.notes) < RARE_TAG_NOTES ? { tagId: fewest.id } : null;
  }

  /** One part's conditions, order and limit (up to `limit + 1` rows) on `n`, its values pushed onto `params` ($1 is the reader). */
  private partCondition(
    reach: Reach,
    query: ParsedQuery,
    order: ListOrder,
    pinned: boolean,
    after: KeysetPosition | null,
    limit: number,
    params: SqlParam[],
    rareTagId: string | null = null,
  ): string {
    const where = [...REACH_PARTS[reach.scope][pinned ? 'pinned' : 'others'], 'n.deleted_at IS NULL', ...this.tagFilters(query, params)];
    if (rareTagId) {
      // The tag's notes first, then sorted: PostgreSQL takes an array from a subquery as a few keys to look up;
      // SQLite looks each note of the subquery up by its key.
      params.push(rareTagId);
      const tagged = `SELECT nt.note_id FROM note_tags nt WHERE nt.tag_id = $${params.length}`;
      where.push(this.db.engine === 'postgres' ? `n.id = ANY(ARRAY(${tagged}))` : `n.id IN (${tagged})`);
    }
    if (query.exclude.length) where.push(this.index.exclude(query, reach, params));
    const page = keysetSql(LIST_COLUMNS[order], after, limit, params);
    if (page.where) where.push(page.where);
    return `${where.join(' AND ')} ${page.orderAndLimit}`;
  }

  /**
   * Up to `batch` notes after `after` in (owner_id, created_at, id) order, trashed ones included (marked),
   * read in the caller's transaction `m`: the walk of a search index rebuild.
   */
  async indexBatch(m: EntityManager, after: IndexPosition, batch: number): Promise<Array<IndexedNote & { trashed: boolean }>> {
    const rows: Array<{
      id: string;
      ownerId: string;
      title: string;
      body: string;
      createdAt: number | string;
      trashed: number | boolean;
      tagNames: string;
      visibility: Visibility;
    }> = await m.query(
      `SELECT n.id, n.owner_id AS "ownerId", n.title, n.body, n.created_at AS "createdAt", n.deleted_at IS NOT NULL AS "trashed", n.tag_names AS "tagNames",
              n.visibility
         FROM notes n
        WHERE (n.owner_id, n.created_at, n.id) > (${this.db.placeholder(1)}, ${this.db.placeholder(2)}, ${this.db.placeholder(3)})
        ORDER BY n.owner_id, n.created_at, n.id LIMIT ${batch}`,
      after,
    );
    return rows.map((r) => ({
      id: r.id,
      ownerId: r.ownerId,
      title: r.title,
      body: r.body,
      createdAt: new Date(Number(r.createdAt)),
      tags: splitTagNames(r.tagNames),
      team: r.visibility === 'team',
      trashed: !!r.trashed,
    }));
  }

  /** Notes (alias `n`) matching a condition written with $n parameters, each with its tag names. The text may end with ORDER BY / LIMIT. */
  private async notesWhere(condition: string, params: SqlParam[]): Promise<NoteView[]> {
    const n = this.db.columns(Note, 'n');
    const rows = await this.db.selectValues(`SELECT ${n.sql} FROM notes n WHERE ${condition}`, params);
    return rows.map((values) => this.noteView(values));
  }

  /**
   * SQL conditions on `n` for the query's tags and excluded tags, their names appended to params: a word of the
   * note's own `tag_names` (kept by the note_tags triggers), so that a walk in list order that passes many notes
   * without the tag reads each note's row only, with no look-up in note_tags per note (5 times cheaper).
   */
  private tagFilters(query: ParsedQuery, params: SqlParam[]): string[] {
    const position = this.db.engine === 'sqlite' ? 'instr' : 'strpos';
    const has = (name: string) => {
      // Tag names hold no space (tag.ts), so a name between spaces is one whole name of the list.
      params.push(` ${name} `);
      return `${position}(' ' || n.tag_names || ' ', $${params.length}) > 0`;
    };
    return [...query.tags.map(has), ...query.excludedTags.map((name) => `NOT ${has(name)}`)];
  }

  /**
   * A new note's statements. PostgreSQL: one call (migration CreateNotesInOneCall), so that a single note is one
   * round trip. SQLite: the note, the owner's tag rows it lacks and the links to its tags, each a statement of
   * constant text (one per number of tags) kept prepared; `insert` adds the search entries of all its notes.
   */
  private insertStatements(note: NoteRecord): WriteStatement[] {
    if (this.db.engine === 'postgres') return [{ sql: INSERT_NOTE_CALL, params: insertNoteParams(note) }];
    const statements: WriteStatement[] = [
      {
        sql: `INSERT INTO notes (id, owner_id, title, body, visibility, editable_by_team, created_at, updated_at, version, updated_by)
              VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        params: noteRowValues(note),
      },
    ];
    if (note.tags.length) statements.push(...this.tagStatements(note, (i) => `$${i}`));
    return statements;
  }

  /**
   * The owner's tag rows the note's tags lack, and the note's links to its tags; `$` writes the i-th (1-based)
   * parameter, each used once and in order (so that TypeORM's `placeholder` serves too).
   */
  private tagStatements(note: NoteRecord, $: (i: number) => string): WriteStatement[] {
    const rows = note.tags.map((_, i) => `(${$(3 * i + 1)}, ${$(3 * i + 2)}, ${$(3 * i + 3)})`).join(', ');
    return [
      {
        sql: `INSERT INTO tags (id, owner_id, name) VALUES ${rows} ON CONFLICT DO NOTHING`,
        params: note.tags.flatMap((name) => [randomUUID(), note.ownerId, name]),
      },
      {
        sql: `INSERT INTO note_tags (note_id, tag_id) SELECT ${$(1)}, t.id FROM tags t WHERE t.owner_id = ${$(2)} AND t.name IN (SELECT value FROM ${this.db.jsonList($(3))})`,
        params: [note.id, note.ownerId, JSON.stringify(note.tags)],
      },
    ];
  }

  /** Replaces the note's tags (creating the owner's tag rows as needed) and its search entry. */
  private async setTags(m: EntityManager, note: NoteRecord): Promise<void> {
    await m.delete(NoteTag, { noteId: note.id });
    if (note.tags.length) {
      for (const { sql, params = [] } of this.tagStatements(note, (i) => this.db.placeholder(i))) await m.query(sql, [...params]);
    }
    await this.index.write(m, indexedNote(note));
  }
}

/** A note as its search entry sees it. */
const indexedNote = (note: NoteRecord): IndexedNote => ({
  id: note.id,
  ownerId: note.ownerId,
  title: note.title,
  body: note.body,
  tags: note.tags,
  createdAt: note.createdAt,
  team: note.visibility === 'team',
});

/** PostgreSQL: the note, its tags, their links and its search entry in one statement (its tag names are the triggers'). */
const INSERT_NOTE_CALL = 'SELECT "insert_note"($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)';

/** The notes row's values in column order: id, owner_id, title, body, visibility, editable_by_team, created_at, updated_at, version, updated_by. */
const noteRowValues = (note: NoteRecord): SqlParam[] => [
  note.id,
  note.ownerId,
  note.title,
  note.body,
  note.visibility,
  // A boolean is no SQLite parameter; PostgreSQL reads '1' and '0' as booleans.
  note.editableByTeam ? 1 : 0,
  note.createdAt.getTime(),
  note.updatedAt.getTime(),
  note.version,
  note.updatedBy,
];

const insertNoteParams = (note: NoteRecord): SqlParam[] => [...noteRowValues(note), JSON.stringify(note.tags), pgDocument(note)];

/**
 * Each scope's two parts as conditions on `n` ($1 is the reader): the reader's pinned notes within the scope,
 * then every other note within it. Team notes are walked on idx_notes_visibility_*, the reader's own on
 * idx_notes_owner_pinned_*.
 */
const REACH_PARTS: Record<Reach['scope'], { pinned: string[]; others: string[] }> = {
  mine: { pinned: ['n.owner_id = $1', 'n.pinned = TRUE'], others: ['n.owner_id = $1', 'n.pinned = FALSE'] },
  team: {
    pinned: ['n.owner_id = $1', 'n.pinned = TRUE', "n.visibility = 'team'"],
    others: ["n.visibility = 'team'", '(n.owner_id <> $1 OR n.pinned = FALSE)'],
  },
  all: {
    pinned: ['n.owner_id = $1', 'n.pinned = TRUE'],
    others: ["(n.owner_id = $1 OR n.visibility = 'team')", '(n.owner_id <> $1 OR n.pinned = FALSE)'],
  },
};
