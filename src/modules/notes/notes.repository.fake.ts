import type { KeysetPosition } from '@kiroku/persistence';
import type { EntityManager } from 'typeorm';
import type { ListOrder } from './cursor';
import type { Note } from './note.entity';
import {
  sameContent,
  listPart,
  searchPart,
  walkParts,
  type ExpectedVersions,
  type IndexPosition,
  type NoteRecord,
  type NotesRepository,
  type NoteView,
  type Revised,
  type RevisionView,
} from './notes.repository';
import type { ParsedQuery, SearchTerm } from './search/query';
import type { IndexedNote, Reach, SearchKey, SearchPart } from './search/search-index';

const newestFirst = (a: NoteView, b: NoteView) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

/** A term is found when its text is in the title, a tag or the body (the engines' tokens, loosely). */
const has = (note: NoteView, term: SearchTerm) =>
  [note.title, note.tags.join(' '), note.body].some((text) => text.toLowerCase().includes(term.raw.toLowerCase()));

/**
 * NotesRepository in memory, for unit tests of NotesService: the same answers
 * for the same calls (a search matches words as substrings; the engines'
 * tokens are theirs to test).
 */
export class FakeNotesRepository implements Pick<NotesRepository, keyof NotesRepository> {
  readonly rows = new Map<string, NoteView>();
  /** Tag names ever used, per owner: tag rows outlive their notes, as in the database. */
  readonly tagRows = new Map<string, Set<string>>();

  async insert(notes: NoteRecord[]): Promise<void> {
    for (const note of notes) {
      if (this.rows.has(note.id)) throw new Error(`duplicate note id ${note.id}`);
      this.rows.set(note.id, { ...note, tags: [...note.tags], deletedAt: null });
      this.addTags(note);
    }
  }

  /** Kept revisions, oldest first, per note. */
  readonly revisionRows = new Map<string, RevisionView[]>();

  async revise(
    id: string,
    expected: ExpectedVersions,
    may: (current: NoteView) => boolean,
    change: (current: NoteView) => NoteRecord | null,
  ): Promise<Revised> {
    const row = this.rows.get(id);
    if (!row || row.deletedAt || !may(copy(row))) return { outcome: 'missing' };
    if (expected && !expected.includes(row.version)) return { outcome: 'stale', note: copy(row) };
    const next = change(copy(row));
    if (!next) return { outcome: 'unchanged', note: copy(row) };
    if (!sameContent(row, next)) {
      const kept = this.revisionRows.get(id) ?? [];
      kept.push({
        noteId: id,
        version: row.version,
        title: row.title,
        body: row.body,
        tags: [...row.tags],
        visibility: row.visibility,
        editableByTeam: row.editableByTeam,
        authorId: row.updatedBy,
        savedAt: row.updatedAt,
      });
      this.revisionRows.set(id, kept);
    }
    Object.assign(row, { ...next, tags: [...next.tags] });
    this.addTags(next);
    return { outcome: 'written', note: copy(row) };
  }

  async trash(ownerId: string, id: string, at: Date, expected: ExpectedVersions = null): Promise<'trashed' | 'missing' | 'stale'> {
    const row = this.rows.get(id);
    if (!row || row.ownerId !== ownerId || row.deletedAt) return 'missing';
    if (expected && !expected.includes(row.version)) return 'stale';
    row.deletedAt = at;
    return 'trashed';
  }

  async revisions(noteId: string, before: number | null, take: number): Promise<RevisionView[]> {
    return (this.revisionRows.get(noteId) ?? [])
      .filter((r) => before === null || r.version < before)
      .reverse()
      .slice(0, take)
      .map((r) => ({ ...r, tags: [...r.tags] }));
  }

  async revision(noteId: string, version: number): Promise<RevisionView | null> {
    return (this.revisionRows.get(noteId) ?? []).find((r) => r.version === version) ?? null;
  }

  async revisionAfter(noteId: string, version: number): Promise<RevisionView | null> {
    return (this.revisionRows.get(noteId) ?? []).find((r) => r.version > version) ?? null;
  }

  async restore(note: NoteView): Promise<void> {
    this.rows.get(note.id)!.deletedAt = null;
  }

  async find(id: string): Promise<NoteView | null> {
    const row = this.rows.get(id);
    return row && !row.deletedAt ? copy(row) : null;
  }

  async findOwn(ownerId: string, id: string, trashed: boolean): Promise<NoteView | null> {
    const row = this.rows.get(id);
    return row && row.ownerId === ownerId && !!row.deletedAt === trashed ? copy(row) : null;
  }

  async listTrash(ownerId: string): Promise<Note[]> {
    return [...this.rows.values()]
      .filter((n) => n.ownerId === ownerId && n.deletedAt)
      .sort((a, b) => b.deletedAt!.getTime() - a.deletedAt!.getTime())
      .slice(0, 500)
      .map((n) => ({ ...copy(n), tagNames: n.tags.join(' ') }));
  }

  async emptyTrash(ownerId: string): Promise<number> {
    const trashed = [...this.rows.values()].filter((n) => n.ownerId === ownerId && n.deletedAt);
    for (const n of trashed) {
      this.rows.delete(n.id);
      this.revisionRows.delete(n.id);
    }
    return trashed.length;
  }

  async deleteTrashed(ownerId: string, id: string): Promise<boolean> {
    const row = this.rows.get(id);
    if (!row || row.ownerId !== ownerId || !row.deletedAt) return false;
    this.rows.delete(id);
    this.revisionRows.delete(id);
    return true;
  }

  async titles(ownerId: string): Promise<Array<{ id: string; title: string }>> {
    return this.live(ownerId)
      .sort(newestFirst)
      .reverse()
      .map((n) => ({ id: n.id, title: n.title }));
  }

  async byIds(ownerId: string, ids: string[]): Promise<NoteView[]> {
    return this.live(ownerId)
      .filter((n) => ids.includes(n.id))
      .map(copy);
  }

  /** No statistics: the fake has no planner. */
  async refreshSearchStatistics(): Promise<void> {}

  async tagNames(ownerId: string): Promise<string[]> {
    return [...(this.tagRows.get(ownerId) ?? [])].sort().slice(0, 200);
  }

  async searchPage(
    reach: Reach,
    query: ParsedQuery,
    part: SearchPart,
    after: SearchKey | null,
    take: number,
  ): Promise<Array<{ note: NoteView; key: SearchKey }>> {
    const inHead = (n: NoteView) =>
      query.include.every((group) => group.some((t) => [n.title, n.tags.join(' ')].some((text) => text.toLowerCase().includes(t.raw.toLowerCase()))));
    return this.within(reach)
      .filter((n) => query.include.every((group) => group.some((t) => has(n, t))) && !query.exclude.some((t) => has(n, t)) && this.passesTags(n, query))
      .filter((n) => part === 'all' || inHead(n) === (part === 'head'))
      .filter((n) => !after || n.createdAt.getTime() < after.at || (n.createdAt.getTime() === after.at && n.id < after.id))
      .sort(newestFirst)
      .slice(0, take)
      .map((n) => ({ note: copy(n), key: { at: n.createdAt.getTime(), id: n.id } }));
  }

  searchParts(
    reach: Reach,
    query: ParsedQuery,
    parts: SearchPart[],
    fromPart: number,
    after: SearchKey | null,
    limit: number,
  ): Promise<Array<{ note: NoteView; key: SearchKey; part: number }>> {
    return walkParts(
      parts.length,
      fromPart,
      after,
      limit,
      searchPart(parts, (part, from, take) => this.searchPage(reach, query, part, from, take)),
    );
  }

  async setPinned(ownerId: string, id: string, pinned: boolean): Promise<boolean> {
    const row = this.rows.get(id);
    if (!row || row.ownerId !== ownerId || row.deletedAt) return false;
    row.pinned = pinned;
    return true;
  }

  async page(reach: Reach, query: ParsedQuery, order: ListOrder, pinned: boolean, after: KeysetPosition | null, limit: number): Promise<NoteView[]> {
    const at = (n: NoteView) => (order === 'updated' ? n.updatedAt : n.createdAt).getTime();
    const pinnedByReader = (n: NoteView) => n.pinned && n.ownerId === reach.ownerId;
    return this.within(reach)
      .filter((n) => pinnedByReader(n) === pinned && this.passesTags(n, query) && !query.exclude.some((t) => has(n, t)))
      .filter((n) => !after || at(n) < after.at || (at(n) === after.at && n.id < after.id))
      .sort((a, b) => at(b) - at(a) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
      .slice(0, limit + 1)
      .map(copy);
  }

  listParts(
    reach: Reach,
    query: ParsedQuery,
    order: ListOrder,
    fromPart: number,
    after: KeysetPosition | null,
    limit: number,
  ): Promise<Array<{ note: NoteView; part: number }>> {
    return walkParts(
      2,
      fromPart,
      after,
      limit,
      listPart((pinned, from, take) => this.page(reach, query, order, pinned, from, take)),
    );
  }

  async indexBatch(_m: EntityManager, after: IndexPosition, batch: number): Promise<Array<IndexedNote & { trashed: boolean }>> {
    const key = (n: { ownerId: string; createdAt: Date; id: string }): IndexPosition => [n.ownerId, n.createdAt.getTime(), n.id];
    const greater = (a: IndexPosition, b: IndexPosition) => a[0] > b[0] || (a[0] === b[0] && (a[1] > b[1] || (a[1] === b[1] && a[2] > b[2])));
    return [...this.rows.values()]
      .filter((n) => greater(key(n), after))
      .sort((a, b) => (greater(key(a), key(b)) ? 1 : -1))
      .slice(0, batch)
      .map((n) => ({
        id: n.id,
        ownerId: n.ownerId,
        title: n.title,
        body: n.body,
        createdAt: n.createdAt,
        tags: [...n.tags],
        team: n.visibility === 'team',
        trashed: !!n.deletedAt,
      }));
  }

  /** The notes outside the trash within the reach. */
  private within({ ownerId, scope }: Reach): NoteView[] {
    return [...this.rows.values()].filter(
      (n) =>
        !n.deletedAt &&
        (scope === 'mine' ? n.ownerId === ownerId : scope === 'team' ? n.visibility === 'team' : n.ownerId === ownerId || n.visibility === 'team'),
    );
  }

  private live(ownerId: string): NoteView[] {
    return [...this.rows.values()].filter((n) => n.ownerId === ownerId && !n.deletedAt);
  }

  private passesTags(note: NoteView, query: ParsedQuery): boolean {
    return query.tags.every((t) => note.tags.includes(t)) && !query.excludedTags.some((t) => note.tags.includes(t));
  }

  private addTags(note: NoteRecord): void {
    const names = this.tagRows.get(note.ownerId) ?? new Set<string>();
    for (const name of note.tags) names.add(name);
    this.tagRows.set(note.ownerId, names);
  }
}

function copy(note: NoteView): NoteView {
  return { ...note, tags: [...note.tags] };
}
