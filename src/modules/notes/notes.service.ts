import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Clock } from '@kiroku/clock';
import { Database, SqlParam } from '@kiroku/persistence';
import { EntityManager, In, IsNull, LessThan, Not } from 'typeorm';
import { NoteTag } from './note-tag.entity';
import { Note, Visibility, splitTagNames } from './note.entity';
import { isEmpty, ParsedQuery, parseQuery } from './search/query';
import { SearchIndex } from './search/search-index';

export const TRASH_RETENTION_MS = 30 * 24 * 3_600_000;

export interface NoteInput {
  title: string;
  body: string;
  tags: string[];
  visibility: Visibility;
}

export interface NoteView {
  id: string;
  ownerId: string;
  title: string;
  body: string;
  tags: string[];
  visibility: Visibility;
  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
}

export interface Snippet {
  text: string;
  mark: boolean;
}

export interface ListResult {
  items: Array<NoteView & { snippet?: Snippet[] }>;
  nextCursor: string | null;
  notice?: string;
}

export class BadCursor extends Error {}

/** Opaque to clients: "k" keyset position (created, id) for lists, "o" offset for ranked search. */
function encodeCursor(parts: Array<string | number>): string {
  return Buffer.from(parts.join('\n')).toString('base64url');
}

function decodeCursor(cursor: string): string[] {
  const parts = Buffer.from(cursor, 'base64url').toString('utf8').split('\n');
  if (!['k', 'o'].includes(parts[0])) throw new BadCursor();
  return parts;
}

/**
 * Notes, their tags and their search entries, always written together in one
 * transaction. Every read is scoped to the owner except a public note by id.
 */
@Injectable()
export class NotesService {
  private readonly index: SearchIndex;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {
    this.index = SearchIndex.for(db);
  }

  async create(ownerId: string, input: NoteInput): Promise<NoteView> {
    const now = this.clock.now();
    const note = newNote(ownerId, input, now, now);
    await this.db.transaction(async (m) => {
      await this.insertNote(m, note);
      await this.setTags(m, note, input.tags, true);
    });
    return { ...note, tags: [...new Set(input.tags)].sort() };
  }

  /** The note as `viewerId` may see it: their own (not trashed), or anyone's public one. */
  async get(id: string, viewerId: string | null): Promise<NoteView | null> {
    if (!isId(id)) return null;
    const [note] = await this.notesWhere('n.id = $1 AND n.deleted_at IS NULL', [id]);
    if (!note || (note.ownerId !== viewerId && note.visibility !== 'public')) return null;
    return note;
  }

  /** The owner's own note, trashed or not (for edit, delete, restore). */
  async own(ownerId: string, id: string, trashed = false): Promise<NoteView | null> {
    if (!isId(id)) return null;
    const [note] = await this.notesWhere(`n.id = $1 AND n.owner_id = $2 AND n.deleted_at IS ${trashed ? 'NOT ' : ''}NULL`, [id, ownerId]);
    return note ?? null;
  }

  async update(ownerId: string, id: string, patch: Partial<NoteInput>): Promise<NoteView | null> {
    const current = await this.own(ownerId, id);
    if (!current) return null;
    const next = { ...current, ...definedOnly(patch), updatedAt: this.clock.now() };
    await this.db.transaction(async (m) => {
      await m.update(Note, { id }, { ...pick(next), updatedAt: next.updatedAt });
      await this.setTags(m, next, next.tags);
    });
    return { ...next, tags: [...new Set(next.tags)].sort() };
  }

  /** Moves a note to the trash; it leaves search and lists until restored. */
  async trash(ownerId: string, id: string): Promise<boolean> {
    if (!isId(id)) return false;
    return this.db.transaction(async (m) => {
      const result = await m.update(Note, { id, ownerId, deletedAt: IsNull() }, { deletedAt: this.clock.now() });
      if (result.affected !== 1) return false;
      await this.index.remove(m, [id]);
      return true;
    });
  }

  async restore(ownerId: string, id: string): Promise<boolean> {
    const note = await this.own(ownerId, id, true);
    if (!note) return false;
    await this.db.transaction(async (m) => {
      await m.update(Note, { id }, { deletedAt: null });
      await this.index.write(m, note);
    });
    return true;
  }

  listTrash(ownerId: string): Promise<Note[]> {
    return this.db.manager.find(Note, { where: { ownerId, deletedAt: Not(IsNull()) }, order: { deletedAt: 'DESC' }, take: 500 });
  }

  async emptyTrash(ownerId: string): Promise<number> {
    const result = await this.db.transaction((m) => m.delete(Note, { ownerId, deletedAt: Not(IsNull()) }));
    return result.affected ?? 0;
  }

  /** The ids and titles of the owner's notes outside the trash, oldest first: the table of contents of an export. */
  async exportList(ownerId: string): Promise<Array<{ id: string; title: string }>> {
    return this.db.select<{ id: string; title: string }>('SELECT id, title FROM notes WHERE owner_id = $1 AND deleted_at IS NULL ORDER BY created_at, id', [ownerId]);
  }

  /** These notes of the owner with their tags (for an export, a batch at a time). */
  async exportBatch(ownerId: string, ids: string[]): Promise<NoteView[]> {
    return this.notesWhere(`n.owner_id = $1 AND n.deleted_at IS NULL AND n.id IN (SELECT value FROM ${this.db.jsonList('$2')})`, [ownerId, JSON.stringify(ids)]);
  }

  /**
   * Creates notes that come with their own dates (an import), all in one
   * transaction: every note with its tags and search entry, or none.
   */
  async importMany(ownerId: string, inputs: Array<NoteInput & { createdAt: Date; updatedAt: Date }>): Promise<number> {
    await this.db.transaction(async (m) => {
      for (const input of inputs) {
        const note = newNote(ownerId, input, input.createdAt, input.updatedAt);
        await this.insertNote(m, note);
        await this.setTags(m, note, input.tags, true);
      }
    });
    return inputs.length;
  }

  /** The owner's tag names (an index range scan; counting notes per tag would read every note). */
  async tagsOf(ownerId: string): Promise<string[]> {
    const rows = await this.db.select<{ name: string }>('SELECT name FROM tags WHERE owner_id = $1 ORDER BY name LIMIT 200', [ownerId]);
    return rows.map((t) => t.name);
  }

  /**
   * The owner's notes, newest first, or ranked by relevance when the query has
   * words; with `snippets`, each with an excerpt around the first match.
   */
  async list(ownerId: string, options: { q?: string; tag?: string; cursor?: string; limit: number; snippets?: boolean }): Promise<ListResult> {
    const query: ParsedQuery = parseQuery(options.q ?? '');
    if (options.tag) query.tags.push(options.tag);
    const cursor = options.cursor ? decodeCursor(options.cursor) : null;
    if (isEmpty(query) && options.q?.trim()) return { items: [], nextCursor: null, notice: query.notice };

    let notes: NoteView[];
    let nextCursor: string | null = null;
    if (query.include.length) {
      if (cursor && cursor[0] !== 'o') throw new BadCursor();
      const offset = cursor ? Number(cursor[1]) : 0;
      if (!Number.isInteger(offset) || offset < 0 || offset > 100_000) throw new BadCursor();
      // Tag filters need every candidate; otherwise the page and one more (to know whether there is a next page).
      const tagged = query.tags.length > 0 || query.excludedTags.length > 0;
      let ids = await this.index.ranked(this.db, query, ownerId, tagged ? undefined : offset + options.limit + 1);
      if (tagged) ids = await this.withTagFilters(ids, query);
      const pageIds = ids.slice(offset, offset + options.limit);
      const found = pageIds.length ? await this.notesWhere(`n.owner_id = $1 AND n.deleted_at IS NULL AND n.id IN (SELECT value FROM ${this.db.jsonList('$2')})`, [ownerId, JSON.stringify(pageIds)]) : [];
      const byId = new Map(found.map((n) => [n.id, n]));
      notes = pageIds.map((id) => byId.get(id)).filter((n): n is NoteView => !!n);
      if (ids.length > offset + options.limit) nextCursor = encodeCursor(['o', offset + options.limit]);
    } else {
      const params: SqlParam[] = [ownerId];
      const where = ['n.owner_id = $1', 'n.deleted_at IS NULL', ...this.tagFilters(query, params)];
      if (query.exclude.length) where.push(this.index.exclude(query, ownerId, params));
      if (cursor) {
        if (cursor[0] !== 'k' || !/^\d{1,15}$/.test(cursor[1]) || !isId(cursor[2])) throw new BadCursor();
        params.push(Number(cursor[1]), cursor[2]);
        const [at, id] = [`$${params.length - 1}`, `$${params.length}`];
        where.push(`(n.created_at < ${at} OR (n.created_at = ${at} AND n.id < ${id}))`);
      }
      params.push(options.limit + 1);
      const found = await this.notesWhere(`${where.join(' AND ')} ORDER BY n.created_at DESC, n.id DESC LIMIT $${params.length}`, params);
      notes = found.slice(0, options.limit);
      if (found.length > options.limit) {
        const last = notes[notes.length - 1];
        nextCursor = encodeCursor(['k', last.createdAt.getTime(), last.id]);
      }
    }
    const items = options.snippets ? notes.map((n) => ({ ...n, snippet: snippet(n.body, query) })) : notes;
    return { items, nextCursor, notice: query.notice };
  }

  /** Notes (alias `n`) matching a condition written with $n parameters, each with its tag names. The text may end with ORDER BY / LIMIT. */
  private async notesWhere(condition: string, params: SqlParam[]): Promise<NoteView[]> {
    const n = this.db.columns(Note, 'n');
    const rows = await this.db.selectValues(`SELECT ${n.sql} FROM notes n WHERE ${condition}`, params);
    return rows.map((values) => {
      const note = n.read(values) as Note & { tags?: string[] };
      note.tags = splitTagNames(note.tagNames);
      return note as NoteView;
    });
  }

  /** SQL conditions on `n` for the query's tags and excluded tags, their names appended to params. */
  private tagFilters(query: ParsedQuery, params: SqlParam[]): string[] {
    const has = (name: string, alias: string) => {
      params.push(name);
      return `EXISTS (SELECT 1 FROM note_tags ${alias} INNER JOIN tags ${alias}t ON ${alias}t.id = ${alias}.tag_id WHERE ${alias}.note_id = n.id AND ${alias}t.name = $${params.length})`;
    };
    return [...query.tags.map((name, i) => has(name, `it${i}`)), ...query.excludedTags.map((name, i) => `NOT ${has(name, `xt${i}`)}`)];
  }

  /** The ids (in their order) that also pass the query's tag filters. */
  private async withTagFilters(ids: string[], query: ParsedQuery): Promise<string[]> {
    const params: SqlParam[] = [JSON.stringify(ids)];
    const filters = this.tagFilters(query, params);
    const rows = await this.db.select<{ id: string }>(`SELECT n.id FROM notes n WHERE n.id IN (SELECT value FROM ${this.db.jsonList('$1')}) AND ${filters.join(' AND ')}`, params);
    const keep = new Set(rows.map((r) => r.id));
    return ids.filter((id) => keep.has(id));
  }

  /** One statement of constant text, kept prepared (its tag names are the triggers' to fill in). */
  private async insertNote(m: EntityManager, note: Note): Promise<void> {
    const $ = (i: number) => this.db.placeholder(i);
    await m.query(
      `INSERT INTO notes (id, owner_id, title, body, visibility, created_at, updated_at) VALUES (${$(1)}, ${$(2)}, ${$(3)}, ${$(4)}, ${$(5)}, ${$(6)}, ${$(7)})`,
      [note.id, note.ownerId, note.title, note.body, note.visibility, note.createdAt.getTime(), note.updatedAt.getTime()],
    );
  }

  /**
   * Replaces the note's tags (creating the owner's tag rows as needed) and its search entry; `fresh`: the
   * note was just inserted, so it has neither tags nor an entry to replace.
   */
  private async setTags(m: EntityManager, note: Pick<Note, 'id' | 'ownerId' | 'title' | 'body' | 'createdAt'>, names: string[], fresh = false): Promise<void> {
    const unique = [...new Set(names)].sort();
    if (!fresh) await m.delete(NoteTag, { noteId: note.id });
    if (unique.length) {
      // Statements of constant text (one per number of tags), which TypeORM keeps prepared: building these
      // through the query builder cost a create more than running them.
      const $ = (i: number) => this.db.placeholder(i);
      const rows = unique.map((_, i) => `(${$(3 * i + 1)}, ${$(3 * i + 2)}, ${$(3 * i + 3)})`).join(', ');
      await m.query(`INSERT INTO tags (id, owner_id, name) VALUES ${rows} ON CONFLICT DO NOTHING`, unique.flatMap((name) => [randomUUID(), note.ownerId, name]));
      await m.query(
        `INSERT INTO note_tags (note_id, tag_id) SELECT ${$(1)}, t.id FROM tags t WHERE t.owner_id = ${$(2)} AND t.name IN (SELECT value FROM ${this.db.jsonList($(3))})`,
        [note.id, note.ownerId, JSON.stringify(unique)],
      );
    }
    await this.index.write(m, { id: note.id, ownerId: note.ownerId, title: note.title, body: note.body, tags: unique, createdAt: note.createdAt }, { fresh });
  }
}

function pick(input: Pick<NoteInput, 'title' | 'body' | 'visibility'>) {
  return { title: input.title, body: input.body, visibility: input.visibility };
}

/** A note to insert; its tagNames are filled in by the triggers as its tags are inserted. */
function newNote(ownerId: string, input: NoteInput, createdAt: Date, updatedAt: Date): Note {
  return { id: randomUUID(), ownerId, ...pick(input), createdAt, updatedAt, deletedAt: null, tagNames: '' };
}

function definedOnly<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function isId(id: unknown): id is string {
  return typeof id === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id);
}

/** About 200 characters of the body around the first match, split into marked and plain pieces. */
export function snippet(body: string, query: ParsedQuery): Snippet[] {
  const needles = query.include.map((t) => t.raw.toLowerCase()).filter(Boolean);
  const lower = needles.length ? body.toLowerCase() : '';
  const first = Math.min(...needles.map((n) => lower.indexOf(n)).filter((i) => i >= 0), Infinity);
  const start = first === Infinity ? 0 : Math.max(0, first - 80);
  // Markdown punctuation is noise in a one-line excerpt, and so is a link's target, even one the excerpt cuts.
  const excerpt = body.slice(start, start + 200).replace(/[#*`>~|]+|\[|\]\([^)]*(?:\)|$)/g, ' ').replace(/\s+/g, ' ').trim();
  const text = (start > 0 ? '…' : '') + excerpt + (body.length > start + 200 ? '…' : '');
  if (!needles.length) return [{ text, mark: false }];
  const pattern = new RegExp(`(${needles.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`, 'gi');
  return text.split(pattern).filter(Boolean).map((piece) => ({ text: piece, mark: needles.includes(piece.toLowerCase()) }));
}
