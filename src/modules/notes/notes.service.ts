import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Clock } from '@kiroku/clock';
import { Database } from '@kiroku/persistence';
import { EntityManager, In, IsNull, LessThan, Not } from 'typeorm';
import { NoteTag } from './note-tag.entity';
import { Note, Visibility } from './note.entity';
import { isEmpty, ParsedQuery, parseQuery } from './search/query';
import { SearchIndex } from './search/search-index';
import { Tag } from './tag.entity';

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
    const note: Note = { id: randomUUID(), ownerId, ...pick(input), createdAt: now, updatedAt: now, deletedAt: null };
    await this.db.transaction(async (m) => {
      await m.createQueryBuilder().insert().into(Note).values(note).updateEntity(false).execute();
      await this.setTags(m, note, input.tags);
    });
    return { ...note, tags: [...new Set(input.tags)].sort() };
  }

  /** The note as `viewerId` may see it: their own (not trashed), or anyone's public one. */
  async get(id: string, viewerId: string | null): Promise<NoteView | null> {
    if (!isId(id)) return null;
    const note = await this.db.manager.findOneBy(Note, { id, deletedAt: IsNull() });
    if (!note || (note.ownerId !== viewerId && note.visibility !== 'public')) return null;
    return (await this.withTags([note]))[0];
  }

  /** The owner's own note, trashed or not (for edit, delete, restore). */
  async own(ownerId: string, id: string, trashed = false): Promise<NoteView | null> {
    if (!isId(id)) return null;
    const note = await this.db.manager.findOneBy(Note, { id, ownerId, deletedAt: trashed ? Not(IsNull()) : IsNull() });
    return note ? (await this.withTags([note]))[0] : null;
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

  /** Deletes notes trashed more than 30 days ago, `batch` at a time; returns how many. */
  async purgeTrash(batch = 500, signal?: AbortSignal): Promise<number> {
    let total = 0;
    const before = new Date(this.clock.nowMs() - TRASH_RETENTION_MS);
    for (;;) {
      if (signal?.aborted) return total;
      const doomed = await this.db.manager.find(Note, { select: { id: true }, where: { deletedAt: LessThan(before) }, take: batch });
      if (doomed.length === 0) return total;
      await this.db.transaction((m) => m.delete(Note, { id: In(doomed.map((n) => n.id)) }));
      total += doomed.length;
    }
  }

  /** The owner's tag names (an index range scan; counting notes per tag would read every note). */
  async tagsOf(ownerId: string): Promise<string[]> {
    const rows = await this.db.manager.find(Tag, { select: { name: true }, where: { ownerId }, order: { name: 'ASC' }, take: 200 });
    return rows.map((t) => t.name);
  }

  /** The owner's notes, newest first, or ranked by relevance when the query has words. */
  async list(ownerId: string, options: { q?: string; tag?: string; cursor?: string; limit: number }): Promise<ListResult> {
    const query: ParsedQuery = parseQuery(options.q ?? '');
    if (options.tag) query.tags.push(options.tag);
    const cursor = options.cursor ? decodeCursor(options.cursor) : null;
    if (isEmpty(query) && options.q?.trim()) return { items: [], nextCursor: null, notice: query.notice };

    let rows: Note[];
    let nextCursor: string | null = null;
    if (query.include.length) {
      if (cursor && cursor[0] !== 'o') throw new BadCursor();
      const offset = cursor ? Number(cursor[1]) : 0;
      if (!Number.isInteger(offset) || offset < 0 || offset > 100_000) throw new BadCursor();
      let ids = await this.index.ranked(this.db.manager, query, ownerId);
      if (query.tags.length || query.excludedTags.length) ids = await this.withTagFilters(ids, query);
      const pageIds = ids.slice(offset, offset + options.limit);
      const found = pageIds.length ? await this.baseQuery(ownerId).andWhere('n.id IN (:...pageIds)', { pageIds }).getRawMany<RawNote>() : [];
      const byId = new Map(found.map((r) => [r.id, fromRaw(r)]));
      rows = pageIds.map((id) => byId.get(id)).filter((n): n is Note => !!n);
      if (ids.length > offset + options.limit) nextCursor = encodeCursor(['o', offset + options.limit]);
    } else {
      const qb = this.baseQuery(ownerId);
      this.applyTagFilters(qb, query);
      if (query.exclude.length) this.index.exclude(qb, query, ownerId);
      if (cursor) {
        if (cursor[0] !== 'k' || !/^\d{1,15}$/.test(cursor[1]) || !isId(cursor[2])) throw new BadCursor();
        qb.andWhere('(n.created_at < :cAt OR (n.created_at = :cAt AND n.id < :cId))', { cAt: Number(cursor[1]), cId: cursor[2] });
      }
      const raw = await qb.orderBy('n.created_at', 'DESC').addOrderBy('n.id', 'DESC').limit(options.limit + 1).getRawMany<RawNote>();
      rows = raw.slice(0, options.limit).map(fromRaw);
      if (raw.length > options.limit) {
        const last = rows[rows.length - 1];
        nextCursor = encodeCursor(['k', last.createdAt.getTime(), last.id]);
      }
    }
    const items = (await this.withTags(rows)).map((n) => ({ ...n, snippet: snippet(n.body, query) }));
    return { items, nextCursor, notice: query.notice };
  }

  private baseQuery(ownerId: string) {
    return this.db.manager
      .createQueryBuilder(Note, 'n')
      .select(['n.id AS id', 'n.owner_id AS owner_id', 'n.title AS title', 'n.body AS body', 'n.visibility AS visibility', 'n.created_at AS created_at', 'n.updated_at AS updated_at'])
      .where('n.owner_id = :ownerId AND n.deleted_at IS NULL', { ownerId });
  }

  private applyTagFilters(qb: ReturnType<NotesService['baseQuery']>, query: ParsedQuery): void {
    query.tags.forEach((name, i) => {
      qb.andWhere(`EXISTS (SELECT 1 FROM note_tags nt${i} INNER JOIN tags t${i} ON t${i}.id = nt${i}.tag_id WHERE nt${i}.note_id = n.id AND t${i}.name = :tag${i})`, { [`tag${i}`]: name });
    });
    query.excludedTags.forEach((name, i) => {
      qb.andWhere(`NOT EXISTS (SELECT 1 FROM note_tags xt${i} INNER JOIN tags xg${i} ON xg${i}.id = xt${i}.tag_id WHERE xt${i}.note_id = n.id AND xg${i}.name = :xtag${i})`, { [`xtag${i}`]: name });
    });
  }

  /** The ids (in their order) that also pass the query's tag filters. */
  private async withTagFilters(ids: string[], query: ParsedQuery): Promise<string[]> {
    const keep = new Set<string>();
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const qb = this.db.manager.createQueryBuilder(Note, 'n').select('n.id', 'id').where('n.id IN (:...chunk)', { chunk });
      this.applyTagFilters(qb as ReturnType<NotesService['baseQuery']>, query);
      for (const r of await qb.getRawMany<{ id: string }>()) keep.add(r.id);
    }
    return ids.filter((id) => keep.has(id));
  }

  private async withTags(notes: Note[]): Promise<NoteView[]> {
    if (notes.length === 0) return [];
    const rows: Array<{ noteId: string; name: string }> = await this.db.manager
      .createQueryBuilder()
      .select('nt.note_id', 'noteId')
      .addSelect('t.name', 'name')
      .from(NoteTag, 'nt')
      .innerJoin(Tag, 't', 't.id = nt.tag_id')
      .where('nt.note_id IN (:...ids)', { ids: notes.map((n) => n.id) })
      .orderBy('t.name', 'ASC')
      .getRawMany();
    const tags = new Map<string, string[]>();
    for (const r of rows) tags.set(r.noteId, [...(tags.get(r.noteId) ?? []), r.name]);
    return notes.map((n) => ({ ...n, tags: tags.get(n.id) ?? [] }));
  }

  /** Replaces the note's tags (creating the owner's tag rows as needed) and its search entry. */
  private async setTags(m: EntityManager, note: Pick<Note, 'id' | 'ownerId' | 'title' | 'body'>, names: string[]): Promise<void> {
    const unique = [...new Set(names)].sort();
    await m.delete(NoteTag, { noteId: note.id });
    if (unique.length) {
      await m.createQueryBuilder().insert().into(Tag).values(unique.map((name) => ({ id: randomUUID(), ownerId: note.ownerId, name }))).orIgnore().updateEntity(false).execute();
      const tags = await m.find(Tag, { select: { id: true }, where: { ownerId: note.ownerId, name: In(unique) } });
      await m.createQueryBuilder().insert().into(NoteTag).values(tags.map((t) => ({ noteId: note.id, tagId: t.id }))).updateEntity(false).execute();
    }
    await this.index.write(m, { id: note.id, ownerId: note.ownerId, title: note.title, body: note.body, tags: unique });
  }
}

interface RawNote {
  id: string;
  owner_id: string;
  title: string;
  body: string;
  visibility: Visibility;
  created_at: string | number;
  updated_at: string | number;
}

function fromRaw(r: RawNote): Note {
  return {
    id: r.id, ownerId: r.owner_id, title: r.title, body: r.body, visibility: r.visibility,
    createdAt: new Date(Number(r.created_at)), updatedAt: new Date(Number(r.updated_at)), deletedAt: null,
  };
}

function pick(input: Pick<NoteInput, 'title' | 'body' | 'visibility'>) {
  return { title: input.title, body: input.body, visibility: input.visibility };
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
  const lower = body.toLowerCase();
  const first = Math.min(...needles.map((n) => lower.indexOf(n)).filter((i) => i >= 0), Infinity);
  const start = first === Infinity ? 0 : Math.max(0, first - 80);
  // Markdown punctuation is noise in a one-line excerpt.
  const excerpt = body.slice(start, start + 200).replace(/[#*`>~|]+|\[|\]\([^)]*\)/g, ' ').replace(/\s+/g, ' ').trim();
  const text = (start > 0 ? '…' : '') + excerpt + (body.length > start + 200 ? '…' : '');
  if (!needles.length) return [{ text, mark: false }];
  const pattern = new RegExp(`(${needles.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`, 'gi');
  return text.split(pattern).filter(Boolean).map((piece) => ({ text: piece, mark: needles.includes(piece.toLowerCase()) }));
}
