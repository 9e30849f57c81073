import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Clock } from '@kiroku/clock';
import {
  BadCursor,
  listCursor,
  type ListOrder,
  type ListPosition,
  listPositionOf,
  readListCursor,
  searchCursor,
  searchPositionOf,
  type SearchPosition,
  type SearchSort,
} from './cursor';
import { isId } from './note-id';
import { Note, Visibility } from './note.entity';
import { ExpectedVersions, NoteRecord, NotesRepository, NoteView, RevisionView, sameContent } from './notes.repository';
import { isEmpty, ParsedQuery, parseQuery } from './search/query';
import type { SearchPart } from './search/search-index';
import { snippet, Snippet } from './snippet';

export { BadCursor, type ListOrder, type NoteView, type RevisionView, type SearchSort, type Snippet, type ExpectedVersions };

/** The note is no longer at the version a change started from: nothing was written. `current` is the note as it is. */
export class StaleNote extends Error {
  constructor(readonly current: NoteView) {
    super(`note ${current.id} is at version ${current.version}`);
  }
}

/** A page of a note's history: the current version first, then the kept revisions, newest first. */
export interface RevisionPage {
  items: Array<RevisionView & { current: boolean }>;
  /** Pass as `before` for the next page; null on the last. */
  nextBefore: number | null;
}

export const TRASH_RETENTION_MS = 30 * 24 * 3_600_000;

export interface NoteInput {
  title: string;
  body: string;
  tags: string[];
  visibility: Visibility;
}

export interface ListResult {
  items: Array<NoteView & { snippet?: Snippet[] }>;
  nextCursor: string | null;
  notice?: string;
}

/**
 * Notes: who may read which, what a list or a search returns, the trash. A
 * note, its tags and its search entry are written together (NotesRepository).
 * Every read is scoped to the owner except a public note by id.
 */
@Injectable()
export class NotesService {
  constructor(
    private readonly notes: NotesRepository,
    private readonly clock: Clock,
  ) {}

  async create(ownerId: string, input: NoteInput): Promise<NoteView> {
    const now = this.clock.now();
    const note = newNote(ownerId, input, now, now);
    await this.notes.insert([note]);
    return { ...note, deletedAt: null };
  }

  /** The note as `viewerId` may see it: their own (not trashed), or anyone's public one. */
  async get(id: string, viewerId: string | null): Promise<NoteView | null> {
    if (!isId(id)) return null;
    const note = await this.notes.find(id);
    if (!note || (note.ownerId !== viewerId && note.visibility !== 'public')) return null;
    return note;
  }

  /** The owner's own note, trashed or not (for edit, delete, restore). */
  async own(ownerId: string, id: string, trashed = false): Promise<NoteView | null> {
    if (!isId(id)) return null;
    return this.notes.findOwn(ownerId, id, trashed);
  }

  /**
   * Changes the fields given of the owner's note outside the trash, as `authorId`; null when there is no such
   * note. With `expected`, only if the note is still at one of those versions (else StaleNote). A change that
   * changes nothing writes nothing and keeps the version. `pinned` alone only pins or unpins (see pin), whatever
   * the version; with other fields, it is set after them.
   */
  async update(
    ownerId: string,
    id: string,
    { pinned, ...content }: Partial<NoteInput> & { pinned?: boolean },
    options: { authorId: string; expected?: ExpectedVersions },
  ): Promise<NoteView | null> {
    const patch = definedOnly(content);
    if (pinned !== undefined && Object.keys(patch).length === 0) return this.pin(ownerId, id, pinned);
    const updated = await this.updateContent(ownerId, id, patch, options);
    if (!updated || pinned === undefined) return updated;
    await this.notes.setPinned(ownerId, id, pinned);
    return { ...updated, pinned };
  }

  /** Pins the owner's note to the top of the list, or unpins it: an arrangement, so its update time, version and content stay as they are. */
  async pin(ownerId: string, id: string, pinned: boolean): Promise<NoteView | null> {
    if (!isId(id) || !(await this.notes.setPinned(ownerId, id, pinned))) return null;
    return this.own(ownerId, id);
  }

  private async updateContent(
    ownerId: string,
    id: string,
    patch: Partial<NoteInput>,
    options: { authorId: string; expected?: ExpectedVersions },
  ): Promise<NoteView | null> {
    if (!isId(id)) return null;
    const result = await this.notes.revise(ownerId, id, options.expected ?? null, (current) => {
      const next = { ...current, ...patch };
      next.tags = tagSet(next.tags);
      if (sameContent(current, next)) return null;
      return { ...next, version: current.version + 1, updatedAt: this.clock.now(), updatedBy: options.authorId };
    });
    if (result.outcome === 'missing') return null;
    if (result.outcome === 'stale') throw new StaleNote(result.note);
    return result.note;
  }

  /** Moves a note to the trash; it leaves search and lists until restored. With `expected`, see `update`. */
  async trash(ownerId: string, id: string, expected: ExpectedVersions = null): Promise<boolean> {
    if (!isId(id)) return false;
    const outcome = await this.notes.trash(ownerId, id, this.clock.now(), expected);
    if (outcome === 'stale') throw new StaleNote((await this.own(ownerId, id))!);
    return outcome === 'trashed';
  }

  /**
   * The owner's note's history, newest first: its current version (on the first page), then the revisions
   * kept before `before`. Null when the owner has no such note outside the trash.
   */
  async history(ownerId: string, id: string, options: { before?: number; limit: number }): Promise<RevisionPage | null> {
    const note = await this.own(ownerId, id);
    if (!note) return null;
    const head = options.before === undefined ? [{ ...revisionOf(note), current: true }] : [];
    const kept = await this.notes.revisions(id, options.before ?? null, options.limit + 1 - head.length);
    const found = [...head, ...kept.map((r) => ({ ...r, current: false }))];
    const items = found.slice(0, options.limit);
    return { items, nextBefore: found.length > options.limit ? items[items.length - 1].version : null };
  }

  /**
   * One version of the owner's note: the current one or a kept revision, and the version after it (null for
   * the current one), so that a page can show what changed next. Null when there is no such note or version.
   */
  async revision(ownerId: string, id: string, version: number): Promise<{ note: NoteView; revision: RevisionView; next: RevisionView | null } | null> {
    const note = await this.own(ownerId, id);
    if (!note || !Number.isSafeInteger(version)) return null;
    if (version === note.version) return { note, revision: revisionOf(note), next: null };
    const revision = version < note.version ? await this.notes.revision(id, version) : null;
    if (!revision) return null;
    return { note, revision, next: (await this.notes.revisionAfter(id, version)) ?? revisionOf(note) };
  }

  /**
   * Makes an earlier version the note's content again: a new version (the one it replaces is kept as a
   * revision). With `expected`, see `update`. Null when there is no such note or kept revision.
   */
  async restoreRevision(ownerId: string, id: string, version: number, options: { authorId: string; expected?: ExpectedVersions }): Promise<NoteView | null> {
    const found = await this.revision(ownerId, id, version);
    if (!found) return null;
    const { title, body, tags, visibility } = found.revision;
    return this.update(ownerId, id, { title, body, tags, visibility }, options);
  }

  async restore(ownerId: string, id: string): Promise<boolean> {
    const note = await this.own(ownerId, id, true);
    if (!note) return false;
    await this.notes.restore(note);
    return true;
  }

  listTrash(ownerId: string): Promise<Note[]> {
    return this.notes.listTrash(ownerId);
  }

  emptyTrash(ownerId: string): Promise<number> {
    return this.notes.emptyTrash(ownerId);
  }

  /** Deletes one of the owner's trashed notes for good; false when the owner has no such note in the trash. */
  deleteForever(ownerId: string, id: string): Promise<boolean> {
    return isId(id) ? this.notes.deleteTrashed(ownerId, id) : Promise.resolve(false);
  }

  /** The ids and titles of the owner's notes outside the trash, oldest first: the table of contents of an export. */
  exportList(ownerId: string): Promise<Array<{ id: string; title: string }>> {
    return this.notes.titles(ownerId);
  }

  /** These notes of the owner with their tags (for an export, a batch at a time). */
  exportBatch(ownerId: string, ids: string[]): Promise<NoteView[]> {
    return this.notes.byIds(ownerId, ids);
  }

  /**
   * Creates notes that come with their own dates (an import), all in one
   * transaction: every note with its tags and search entry, or none.
   */
  async importMany(ownerId: string, inputs: Array<NoteInput & { createdAt: Date; updatedAt: Date }>): Promise<number> {
    // Oldest first: on SQLite, search takes the order notes enter the index as their order of creation.
    const oldestFirst = [...inputs].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
    await this.notes.insert(oldestFirst.map((input) => newNote(ownerId, input, input.createdAt, input.updatedAt)));
    return inputs.length;
  }

  /** The owner's tag names, in order. */
  tagsOf(ownerId: string): Promise<string[]> {
    return this.notes.tagNames(ownerId);
  }

  /**
   * The owner's notes, pinned ones first, then the others, each part in `order` (last updated first unless
   * 'created'; a cursor carries its order); with words to search for, by relevance (see `search`) or, with
   * `sort` 'newest', the matches newest first. With `snippets`, each with an excerpt around the first match.
   */
  async list(
    ownerId: string,
    options: { q?: string; tag?: string; sort?: SearchSort; order?: ListOrder; cursor?: string; limit: number; snippets?: boolean },
  ): Promise<ListResult> {
    const query: ParsedQuery = parseQuery(options.q ?? '');
    if (options.tag) query.tags.push(options.tag);
    const cursor = options.cursor ? readListCursor(options.cursor) : null;
    if (isEmpty(query) && options.q?.trim()) return { items: [], nextCursor: null, notice: query.notice };

    const page = query.include.length
      ? await this.search(ownerId, query, options.sort ?? 'relevance', cursor ? searchPositionOf(cursor, options.sort ?? 'relevance') : null, options.limit)
      : await this.listPage(ownerId, query, cursor ? listPositionOf(cursor, options.order) : null, options.order ?? 'updated', options.limit);
    const items = options.snippets ? page.items.map((n) => ({ ...n, snippet: snippet(n.body, query) })) : page.items;
    return { items, nextCursor: page.nextCursor, notice: query.notice };
  }

  /**
   * A page of search results after `after`. By relevance: first the notes with every searched word (or
   * phrase) in the title or the tags, then the other matches; each part newest first. Every part is a walk
   * of the index in its own order that stops at the page's end, so a page costs the same whether a word is
   * in ten notes or in all of them.
   */
  private async search(
    ownerId: string,
    query: ParsedQuery,
    sort: SearchSort,
    after: SearchPosition | null,
    limit: number,
  ): Promise<{ items: NoteView[]; nextCursor: string | null }> {
    const parts: SearchPart[] = sort === 'newest' ? ['all'] : ['head', 'rest'];
    // The page and one more, to know whether there is a next page.
    const found: Array<{ note: NoteView; position: SearchPosition }> = [];
    for (let part = after?.part ?? 0; part < parts.length && found.length <= limit; part++) {
      const from = after && after.part === part ? after : null;
      const rows = await this.notes.searchPage(ownerId, query, parts[part], from, limit + 1 - found.length);
      found.push(...rows.map((r) => ({ note: r.note, position: { part, ...r.key } })));
    }
    const page = found.slice(0, limit);
    const last = page[page.length - 1];
    return { items: page.map((f) => f.note), nextCursor: found.length > limit && last ? searchCursor(sort, last.position) : null };
  }

  /**
   * A page of the owner's notes filtered by tags and excluded words only: the pinned ones, then the others, each
   * part latest first in the order, after `after` (whose order wins over `order`). Each part is a walk of its
   * index that stops at the page's end.
   */
  private async listPage(
    ownerId: string,
    query: ParsedQuery,
    after: ListPosition | null,
    order: ListOrder,
    limit: number,
  ): Promise<{ items: NoteView[]; nextCursor: string | null }> {
    const listOrder = after?.order ?? order;
    // The page and one more, to know whether there is a next page.
    const found: Array<{ note: NoteView; part: number }> = [];
    for (let part = after?.part ?? 0; part < 2 && found.length <= limit; part++) {
      const from = after && after.part === part ? after : null;
      const rows = await this.notes.page(ownerId, query, listOrder, part === 0, from, limit - found.length);
      found.push(...rows.map((note) => ({ note, part })));
    }
    const page = found.slice(0, limit);
    const last = page[page.length - 1];
    const at = (note: NoteView) => (listOrder === 'updated' ? note.updatedAt : note.createdAt).getTime();
    return {
      items: page.map((f) => f.note),
      nextCursor: found.length > limit && last ? listCursor({ order: listOrder, part: last.part, at: at(last.note), id: last.note.id }) : null,
    };
  }
}

/** A note's current state as a history entry. */
function revisionOf(note: NoteView): RevisionView {
  const { id, version, title, body, tags, visibility, updatedBy, updatedAt } = note;
  return { noteId: id, version, title, body, tags, visibility, authorId: updatedBy, savedAt: updatedAt };
}

/** Tags as stored: each name once, in byte order (code points, as the database orders tag_names; not UTF-16 units). */
function tagSet(names: string[]): string[] {
  return [...new Set(names)].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** A note to insert, its tags a set. */
function newNote(ownerId: string, input: NoteInput, createdAt: Date, updatedAt: Date): NoteRecord {
  return {
    id: randomUUID(),
    ownerId,
    title: input.title,
    body: input.body,
    visibility: input.visibility,
    pinned: false,
    tags: tagSet(input.tags),
    createdAt,
    updatedAt,
    version: 1,
    updatedBy: ownerId,
  };
}

function definedOnly<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}
