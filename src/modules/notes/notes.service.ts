import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Clock } from '@kiroku/clock';
import type { WriteStatement } from '@kiroku/persistence';
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
import { ExpectedVersions, LIST_AT, NoteRecord, NotesRepository, NoteView, RevisionView, sameContent } from './notes.repository';
import { isEmpty, ParsedQuery, parseQuery } from './search/query';
import type { Reach, Scope, SearchPart } from './search/search-index';
import { snippet, Snippet } from './snippet';

export { BadCursor, type ListOrder, type NoteView, type RevisionView, type SearchSort, type Snippet, type ExpectedVersions, type Scope };

/** The note is no longer at the version a change started from: nothing was written. `current` is the note as it is. */
export class StaleNote extends Error {
  constructor(readonly current: NoteView) {
    super(`note ${current.id} is at version ${current.version}`);
  }
}

/**
 * A change the reader may not make to a note they can read: `field` names the field only its owner changes
 * (visibility, editableByTeam, pinned), or is null when they may not change the note at all (a team note the
 * team may not edit, or deleting someone else's note). Nothing was written.
 */
export class NoteForbidden extends Error {
  constructor(readonly field: 'visibility' | 'editableByTeam' | 'pinned' | null) {
    super(field ? `only the note's owner changes ${field}` : "only the note's owner (or, when the team may edit it, a member) changes it");
  }
}

/** The fields only a note's owner changes. */
export const OWNER_FIELDS = ['visibility', 'editableByTeam', 'pinned'] as const;

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
  /** Members may edit it too while it is a team note (false unless given). */
  editableByTeam?: boolean;
}

export interface ListResult {
  items: Array<NoteView & { snippet?: Snippet[] }>;
  nextCursor: string | null;
  notice?: string;
}

/** Whether `viewerId` (null: signed out) may read the note: their own, a team note when signed in, anyone's public note. */
export function mayRead(note: Pick<NoteView, 'ownerId' | 'visibility'>, viewerId: string | null): boolean {
  return note.ownerId === viewerId || note.visibility === 'public' || (note.visibility === 'team' && viewerId !== null);
}

/** Whether `viewerId` may edit the note's title, body and tags: their own, or a team note the team may edit. */
export function mayEdit(note: Pick<NoteView, 'ownerId' | 'visibility' | 'editableByTeam'>, viewerId: string | null): boolean {
  return viewerId !== null && (note.ownerId === viewerId || (note.visibility === 'team' && note.editableByTeam));
}

/**
 * Notes: who may read and change which, what a list or a search returns, the
 * trash. A note, its tags and its search entry are written together
 * (NotesRepository). Reads are scoped to the owner, the team's notes for a
 * signed-in member (accounts that can sign in are enabled ones), and a public
 * note by id. Signed-in callers are members: a disabled account has no
 * session and no working token.
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

  /** The note as `viewerId` may see it (not trashed): their own, a team note when signed in, or anyone's public one. */
  async get(id: string, viewerId: string | null): Promise<NoteView | null> {
    if (!isId(id)) return null;
    const note = await this.notes.find(id);
    if (!note || !mayRead(note, viewerId)) return null;
    return note;
  }

  /**
   * The note if `viewerId` may edit it (see mayEdit); null when they may not read it; NoteForbidden when they
   * may read it but not edit it.
   */
  async editable(id: string, viewerId: string): Promise<NoteView | null> {
    const note = await this.get(id, viewerId);
    if (note && !mayEdit(note, viewerId)) throw new NoteForbidden(null);
    return note;
  }

  /** The owner's own note, trashed or not (for edit, delete, restore). */
  async own(ownerId: string, id: string, trashed = false): Promise<NoteView | null> {
    if (!isId(id)) return null;
    return this.notes.findOwn(ownerId, id, trashed);
  }

  /**
   * Changes the fields given of a note outside the trash as `actorId` (who becomes the author of the new
   * version); null when they may not read it (or there is none). The owner changes every field; a member edits
   * the title, body and tags of a team note the team may edit, and nothing else (NoteForbidden, naming an owner's
   * field they sent, even unchanged). With `expected`, only if the note is still at one of those versions (else
   * StaleNote). A change that changes nothing writes nothing and keeps the version. `pinned` alone only pins or
   * unpins (see pin), whatever the version; with other fields, it is set after them.
   */
  async update(
    actorId: string,
    id: string,
    { pinned, ...content }: Partial<NoteInput> & { pinned?: boolean },
    options: { expected?: ExpectedVersions },
  ): Promise<NoteView | null> {
    const patch = definedOnly(content);
    await this.refuseOwnerFields(actorId, id, { ...patch, pinned });
    if (pinned !== undefined && Object.keys(patch).length === 0) return this.pin(actorId, id, pinned);
    const updated = await this.updateContent(actorId, id, patch, options);
    if (!updated || pinned === undefined) return updated;
    await this.notes.setPinned(actorId, id, pinned);
    return { ...updated, pinned };
  }

  /** NoteForbidden naming the first owner's field in `patch` when the note is readable by `actorId` and not theirs. */
  private async refuseOwnerFields(actorId: string, id: string, patch: Partial<NoteInput> & { pinned?: boolean }): Promise<void> {
    const field = OWNER_FIELDS.find((f) => patch[f] !== undefined);
    if (!field) return;
    const note = await this.get(id, actorId);
    if (note && note.ownerId !== actorId) throw new NoteForbidden(field);
  }

  /** Pins the owner's note to the top of the list, or unpins it: an arrangement, so its update time, version and content stay as they are. */
  async pin(ownerId: string, id: string, pinned: boolean): Promise<NoteView | null> {
    if (!isId(id) || !(await this.notes.setPinned(ownerId, id, pinned))) return null;
    return this.own(ownerId, id);
  }

  private async updateContent(actorId: string, id: string, patch: Partial<NoteInput>, options: { expected?: ExpectedVersions }): Promise<NoteView | null> {
    if (!isId(id)) return null;
    // Asked under the note's lock: an owner who just took the team's editing away wins over a member's save.
    const may = (current: NoteView) => {
      if (current.ownerId === actorId) return true;
      if (!mayRead(current, actorId)) return false;
      if (!mayEdit(current, actorId)) throw new NoteForbidden(null);
      const field = OWNER_FIELDS.find((f) => f !== 'pinned' && patch[f] !== undefined);
      if (field) throw new NoteForbidden(field);
      return true;
    };
    const result = await this.notes.revise(id, options.expected ?? null, may, (current) => {
      const next = { ...current, ...patch };
      next.tags = tagSet(next.tags);
      if (sameContent(current, next)) return null;
      return { ...next, version: current.version + 1, updatedAt: this.clock.now(), updatedBy: actorId };
    });
    if (result.outcome === 'missing') return null;
    if (result.outcome === 'stale') throw new StaleNote(result.note);
    return result.note;
  }

  /**
   * Moves the owner's note to the trash; it leaves search and lists until restored. With `expected`, see
   * `update`. False when `ownerId` may not read it; NoteForbidden when they may read it but do not own it.
   */
  async trash(ownerId: string, id: string, expected: ExpectedVersions = null): Promise<boolean> {
    if (!isId(id)) return false;
    const outcome = await this.notes.trash(ownerId, id, this.clock.now(), expected);
    if (outcome === 'stale') throw new StaleNote((await this.own(ownerId, id))!);
    if (outcome === 'missing' && (await this.get(id, ownerId))) throw new NoteForbidden(null);
    return outcome === 'trashed';
  }

  /**
   * The note's history, newest first: its current version (on the first page), then the revisions kept before
   * `before`. For those who may edit the note (see `editable`: null when the reader may not read it,
   * NoteForbidden when they may read but not edit it).
   */
  async history(readerId: string, id: string, options: { before?: number; limit: number }): Promise<RevisionPage | null> {
    const note = await this.editable(id, readerId);
    if (!note) return null;
    const head = options.before === undefined ? [{ ...revisionOf(note), current: true }] : [];
    const kept = await this.notes.revisions(id, options.before ?? null, options.limit + 1 - head.length);
    const found = [...head, ...kept.map((r) => ({ ...r, current: false }))];
    const items = found.slice(0, options.limit);
    return { items, nextBefore: found.length > options.limit ? items[items.length - 1].version : null };
  }

  /**
   * One version of a note the reader may edit (see `history`): the current one or a kept revision, and the
   * version after it (null for the current one), so that a page can show what changed next. Null when there is
   * no such note or version.
   */
  async revision(readerId: string, id: string, version: number): Promise<{ note: NoteView; revision: RevisionView; next: RevisionView | null } | null> {
    const note = await this.editable(id, readerId);
    if (!note || !Number.isSafeInteger(version)) return null;
    if (version === note.version) return { note, revision: revisionOf(note), next: null };
    const revision = version < note.version ? await this.notes.revision(id, version) : null;
    if (!revision) return null;
    return { note, revision, next: (await this.notes.revisionAfter(id, version)) ?? revisionOf(note) };
  }

  /**
   * Makes an earlier version the note's content again: a new version (the one it replaces is kept as a
   * revision). The owner restores all of it; a member who may edit the note, its title, body and tags (who may
   * read and edit it stays as it is). With `expected`, see `update`. Null when there is no such note or kept
   * revision.
   */
  async restoreRevision(actorId: string, id: string, version: number, options: { expected?: ExpectedVersions }): Promise<NoteView | null> {
    const found = await this.revision(actorId, id, version);
    if (!found) return null;
    const { title, body, tags, visibility, editableByTeam } = found.revision;
    const owner = found.note.ownerId === actorId;
    return this.update(actorId, id, owner ? { title, body, tags, visibility, editableByTeam } : { title, body, tags }, options);
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
   * transaction: every note with its tags and search entry, and the `alongside` statements (its audit event),
   * or none.
   */
  async importMany(
    ownerId: string,
    inputs: Array<NoteInput & { createdAt: Date; updatedAt: Date }>,
    alongside: readonly WriteStatement[] = [],
  ): Promise<number> {
    // Oldest first: on SQLite, search takes the order notes enter the index as their order of creation.
    const oldestFirst = [...inputs].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
    await this.notes.insert(
      oldestFirst.map((input) => newNote(ownerId, input, input.createdAt, input.updatedAt)),
      alongside,
    );
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
    options: { q?: string; tag?: string; sort?: SearchSort; order?: ListOrder; cursor?: string; limit: number; snippets?: boolean; scope?: Scope },
  ): Promise<ListResult> {
    const reach: Reach = { ownerId, scope: options.scope ?? 'mine' };
    const query: ParsedQuery = parseQuery(options.q ?? '');
    if (options.tag) query.tags.push(options.tag);
    const cursor = options.cursor ? readListCursor(options.cursor) : null;
    if (isEmpty(query) && options.q?.trim()) return { items: [], nextCursor: null, notice: query.notice };

    const page = query.include.length
      ? await this.search(reach, query, options.sort ?? 'relevance', cursor ? searchPositionOf(cursor, options.sort ?? 'relevance') : null, options.limit)
      : await this.listPage(reach, query, cursor ? listPositionOf(cursor, options.order) : null, options.order ?? 'updated', options.limit);
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
    reach: Reach,
    query: ParsedQuery,
    sort: SearchSort,
    after: SearchPosition | null,
    limit: number,
  ): Promise<{ items: NoteView[]; nextCursor: string | null }> {
    const parts: SearchPart[] = sort === 'newest' ? ['all'] : ['head', 'rest'];
    // The page and one more, to know whether there is a next page.
    const found = await this.notes.searchParts(reach, query, parts, after?.part ?? 0, after && { at: after.at, id: after.id }, limit);
    const page = found.slice(0, limit);
    const last = page[page.length - 1];
    return { items: page.map((f) => f.note), nextCursor: found.length > limit && last ? searchCursor(sort, { part: last.part, ...last.key }) : null };
  }

  /**
   * A page of the owner's notes filtered by tags and excluded words only: the pinned ones, then the others, each
   * part latest first in the order, after `after` (whose order wins over `order`). Each part is a walk of its
   * index that stops at the page's end.
   */
  private async listPage(
    reach: Reach,
    query: ParsedQuery,
    after: ListPosition | null,
    order: ListOrder,
    limit: number,
  ): Promise<{ items: NoteView[]; nextCursor: string | null }> {
    const listOrder = after?.order ?? order;
    // The page and one more, to know whether there is a next page.
    const found = await this.notes.listParts(reach, query, listOrder, after?.part ?? 0, after, limit);
    const page = found.slice(0, limit);
    const last = page[page.length - 1];
    const at = LIST_AT[listOrder];
    return {
      items: page.map((f) => f.note),
      nextCursor: found.length > limit && last ? listCursor({ order: listOrder, part: last.part, at: at(last.note), id: last.note.id }) : null,
    };
  }
}

/** A note's current state as a history entry. */
function revisionOf(note: NoteView): RevisionView {
  const { id, version, title, body, tags, visibility, editableByTeam, updatedBy, updatedAt } = note;
  return { noteId: id, version, title, body, tags, visibility, editableByTeam, authorId: updatedBy, savedAt: updatedAt };
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
    editableByTeam: input.editableByTeam ?? false,
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
