import { FakeClock } from '@kiroku/clock';
import { encodeKeyset } from '@kiroku/persistence';
import { searchCursor } from './cursor';
import { NotesRepository } from './notes.repository';
import { FakeNotesRepository } from './notes.repository.fake';
import { BadCursor, NoteForbidden, NoteInput, NotesService, NoteView } from './notes.service';

const ALICE = '00000000-0000-4000-8000-00000000000a';
const BOB = '00000000-0000-4000-8000-00000000000b';
const MINUTE = 60_000;

describe('NotesService', () => {
  let clock: FakeClock;
  let repository: FakeNotesRepository;
  let notes: NotesService;

  beforeEach(() => {
    clock = new FakeClock(Date.UTC(2026, 0, 1));
    repository = new FakeNotesRepository();
    notes = new NotesService(repository as unknown as NotesRepository, clock);
  });

  const input = (over: Partial<NoteInput> = {}): NoteInput => ({
    title: 'Deploy checklist',
    body: 'drain the node first',
    tags: [],
    visibility: 'private',
    ...over,
  });
  /** Notes created a minute apart, oldest first. */
  async function createMany(ownerId: string, n: number, over: Partial<NoteInput> = {}): Promise<NoteView[]> {
    const out: NoteView[] = [];
    for (let i = 0; i < n; i++) {
      out.push(await notes.create(ownerId, input({ title: `note ${i}`, ...over })));
      clock.advance(MINUTE);
    }
    return out;
  }
  const titles = (items: NoteView[]) => items.map((n) => n.title);

  describe('who may read a note', () => {
    it('a private note: its owner only, never another user nor an anonymous visitor', async () => {
      const note = await notes.create(ALICE, input());
      expect(await notes.get(note.id, ALICE)).toMatchObject({ id: note.id, title: 'Deploy checklist' });
      expect(await notes.get(note.id, BOB)).toBeNull();
      expect(await notes.get(note.id, null)).toBeNull();
    });

    it('a public note: anyone, signed in or not', async () => {
      const note = await notes.create(ALICE, input({ visibility: 'public' }));
      expect(await notes.get(note.id, BOB)).toMatchObject({ id: note.id, ownerId: ALICE });
      expect(await notes.get(note.id, null)).toMatchObject({ id: note.id });
    });

    it("a public note made private again is its owner's only", async () => {
      const note = await notes.create(ALICE, input({ visibility: 'public' }));
      await notes.update(ALICE, note.id, { visibility: 'private' }, {});
      expect(await notes.get(note.id, BOB)).toBeNull();
      expect(await notes.get(note.id, ALICE)).not.toBeNull();
    });

    it('a trashed note: nobody, not even its owner or when it was public; only the owner sees it in the trash', async () => {
      const note = await notes.create(ALICE, input({ visibility: 'public' }));
      expect(await notes.trash(ALICE, note.id)).toBe(true);
      expect(await notes.get(note.id, ALICE)).toBeNull();
      expect(await notes.get(note.id, BOB)).toBeNull();
      expect(await notes.own(ALICE, note.id)).toBeNull();
      expect(await notes.own(ALICE, note.id, true)).toMatchObject({ id: note.id });
      expect(await notes.own(BOB, note.id, true)).toBeNull();
    });

    it("an id that is not a note id is nobody's note, and is never looked up", async () => {
      const find = jest.spyOn(repository, 'find');
      const findOwn = jest.spyOn(repository, 'findOwn');
      for (const id of ['', 'x', "' OR 1=1 --", '00000000-0000-4000-8000-00000000000A']) {
        expect(await notes.get(id, ALICE)).toBeNull();
        expect(await notes.own(ALICE, id)).toBeNull();
        expect(await notes.trash(ALICE, id)).toBe(false);
      }
      expect(find).not.toHaveBeenCalled();
      expect(findOwn).not.toHaveBeenCalled();
    });
  });

  describe('changing a note', () => {
    it("only its owner may: another user's update of a private note finds nothing; of a public note, is forbidden; neither changes anything", async () => {
      const hidden = await notes.create(ALICE, input());
      expect(await notes.update(BOB, hidden.id, { title: 'defaced' }, {})).toBeNull();
      expect(await notes.update(BOB, hidden.id, { visibility: 'public' }, {})).toBeNull();
      const shown = await notes.create(ALICE, input({ visibility: 'public' }));
      await expect(notes.update(BOB, shown.id, { title: 'defaced' }, {})).rejects.toEqual(new NoteForbidden(null));
      expect(await notes.own(BOB, shown.id)).toBeNull();
      expect((await notes.get(shown.id, ALICE))!.title).toBe('Deploy checklist');
      expect((await notes.get(hidden.id, ALICE))!).toMatchObject({ title: 'Deploy checklist', visibility: 'private' });
    });

    it('a team note: members read it; they edit it only when the team may, and never its visibility, team editing or pin', async () => {
      const readOnly = await notes.create(ALICE, input({ visibility: 'team' }));
      expect(await notes.get(readOnly.id, BOB)).toMatchObject({ id: readOnly.id, ownerId: ALICE });
      expect(await notes.get(readOnly.id, null)).toBeNull();
      await expect(notes.update(BOB, readOnly.id, { body: 'mine now' }, {})).rejects.toEqual(new NoteForbidden(null));
      await expect(notes.editable(readOnly.id, BOB)).rejects.toBeInstanceOf(NoteForbidden);
      await expect(notes.history(BOB, readOnly.id, { limit: 10 })).rejects.toBeInstanceOf(NoteForbidden);

      const shared = await notes.create(ALICE, input({ visibility: 'team', editableByTeam: true }));
      clock.advance(MINUTE);
      const edited = await notes.update(BOB, shared.id, { body: 'drain, then cordon' }, { expected: [1] });
      expect(edited).toMatchObject({ body: 'drain, then cordon', version: 2, updatedBy: BOB, ownerId: ALICE, visibility: 'team' });
      for (const [field, value] of [
        ['visibility', 'private'],
        ['editableByTeam', false],
        ['pinned', true],
      ] as const) {
        await expect(notes.update(BOB, shared.id, { body: 'x', [field]: value }, {})).rejects.toEqual(new NoteForbidden(field));
      }
      await expect(notes.trash(BOB, shared.id)).rejects.toEqual(new NoteForbidden(null));
      const history = await notes.history(BOB, shared.id, { limit: 10 });
      expect(history!.items.map((v) => [v.version, v.authorId])).toEqual([
        [2, BOB],
        [1, ALICE],
      ]);
      // A member restores the text of a version, never who may read or edit it.
      await notes.update(ALICE, shared.id, { visibility: 'public' }, {});
      await notes.update(ALICE, shared.id, { visibility: 'team' }, {});
      const restored = await notes.restoreRevision(BOB, shared.id, 1, {});
      expect(restored).toMatchObject({ body: 'drain the node first', visibility: 'team', editableByTeam: true, updatedBy: BOB });
      // The owner takes the team's editing away: the member's next save is refused.
      await notes.update(ALICE, shared.id, { editableByTeam: false }, {});
      await expect(notes.update(BOB, shared.id, { body: 'late' }, {})).rejects.toEqual(new NoteForbidden(null));
    });

    it('lists and searches by scope: mine, the team (every team note, mine too), or both', async () => {
      await notes.create(ALICE, input({ title: 'alice private deploy' }));
      clock.advance(MINUTE);
      await notes.create(ALICE, input({ title: 'alice team deploy', visibility: 'team' }));
      clock.advance(MINUTE);
      await notes.create(BOB, input({ title: 'bob team deploy', visibility: 'team' }));
      clock.advance(MINUTE);
      await notes.create(BOB, input({ title: 'bob private deploy' }));
      const list = async (scope: 'mine' | 'team' | 'all', q?: string) => titles((await notes.list(ALICE, { scope, q, limit: 10 })).items);
      expect(await list('mine')).toEqual(['alice team deploy', 'alice private deploy']);
      expect(await list('team')).toEqual(['bob team deploy', 'alice team deploy']);
      expect(await list('all')).toEqual(['bob team deploy', 'alice team deploy', 'alice private deploy']);
      expect(await list('team', 'deploy')).toEqual(['bob team deploy', 'alice team deploy']);
      expect(await list('all', 'deploy')).toEqual(['bob team deploy', 'alice team deploy', 'alice private deploy']);
    });

    it('changes the fields given, keeps the others and its creation time, and moves its update time to now', async () => {
      const note = await notes.create(ALICE, input({ tags: ['ops'] }));
      clock.advance(5 * MINUTE);
      const updated = await notes.update(ALICE, note.id, { title: 'Rollback checklist', body: undefined }, {});
      expect(updated).toMatchObject({
        title: 'Rollback checklist',
        body: 'drain the node first',
        tags: ['ops'],
        visibility: 'private',
        createdAt: note.createdAt,
        updatedAt: clock.now(),
      });
      expect(await notes.get(note.id, ALICE)).toEqual(updated);
    });

    it('a trashed note cannot be edited until restored', async () => {
      const note = await notes.create(ALICE, input());
      await notes.trash(ALICE, note.id);
      expect(await notes.update(ALICE, note.id, { title: 'edited in the trash' }, {})).toBeNull();
      expect(await notes.restore(ALICE, note.id)).toBe(true);
      expect(await notes.update(ALICE, note.id, { title: 'edited after restore' }, {})).toMatchObject({ title: 'edited after restore' });
    });
  });

  describe('tags', () => {
    it('are kept once each, in order, however they were given', async () => {
      const note = await notes.create(ALICE, input({ tags: ['zeta', 'alpha', 'ops', 'alpha'] }));
      expect(note.tags).toEqual(['alpha', 'ops', 'zeta']);
      expect((await notes.get(note.id, ALICE))!.tags).toEqual(['alpha', 'ops', 'zeta']);
    });

    it('are replaced as a whole by an update, again as a set', async () => {
      const note = await notes.create(ALICE, input({ tags: ['ops'] }));
      expect((await notes.update(ALICE, note.id, { tags: ['b', 'a', 'b'] }, {}))!.tags).toEqual(['a', 'b']);
      expect((await notes.update(ALICE, note.id, { tags: [] }, {}))!.tags).toEqual([]);
      expect((await notes.get(note.id, ALICE))!.tags).toEqual([]);
    });

    it("belong to their owner: a user's tag list never shows another's tags", async () => {
      await notes.create(ALICE, input({ tags: ['work', 'home'] }));
      await notes.create(BOB, input({ tags: ['secret-project'] }));
      expect(await notes.tagsOf(ALICE)).toEqual(['home', 'work']);
      expect(await notes.tagsOf(BOB)).toEqual(['secret-project']);
    });
  });

  describe('the trash', () => {
    it('only the owner can trash or restore a note, and each only once', async () => {
      const note = await notes.create(ALICE, input());
      expect(await notes.trash(BOB, note.id)).toBe(false);
      expect(await notes.get(note.id, ALICE)).not.toBeNull();
      expect(await notes.restore(ALICE, note.id)).toBe(false); // not in the trash
      expect(await notes.trash(ALICE, note.id)).toBe(true);
      expect(await notes.trash(ALICE, note.id)).toBe(false);
      expect(await notes.restore(BOB, note.id)).toBe(false);
      expect(await notes.restore(ALICE, note.id)).toBe(true);
      expect(await notes.restore(ALICE, note.id)).toBe(false);
      expect(await notes.get(note.id, ALICE)).toMatchObject({ id: note.id, deletedAt: null });
    });

    it('a trashed note leaves lists and search until restored, and the trash lists it with when it was trashed', async () => {
      const [kept, trashed] = await createMany(ALICE, 2, { body: 'kubernetes rollout' });
      await notes.trash(ALICE, trashed.id);
      expect(titles((await notes.list(ALICE, { limit: 20 })).items)).toEqual([kept.title]);
      expect(titles((await notes.list(ALICE, { q: 'kubernetes', limit: 20 })).items)).toEqual([kept.title]);
      expect(await notes.listTrash(ALICE)).toEqual([expect.objectContaining({ id: trashed.id, deletedAt: clock.now() })]);
      expect(await notes.listTrash(BOB)).toEqual([]);
      await notes.restore(ALICE, trashed.id);
      expect(titles((await notes.list(ALICE, { limit: 20 })).items)).toEqual([trashed.title, kept.title]);
    });

    it("emptying it deletes the owner's trashed notes for good, and nothing else", async () => {
      const [a, b] = await createMany(ALICE, 3);
      const bobs = await notes.create(BOB, input());
      await notes.trash(BOB, bobs.id);
      await notes.trash(ALICE, a.id);
      await notes.trash(ALICE, b.id);
      expect(await notes.emptyTrash(ALICE)).toBe(2);
      expect(await notes.restore(ALICE, a.id)).toBe(false);
      expect(await notes.listTrash(ALICE)).toEqual([]);
      expect(titles((await notes.list(ALICE, { limit: 20 })).items)).toEqual(['note 2']);
      expect(await notes.listTrash(BOB)).toHaveLength(1);
    });
  });

  describe('lists', () => {
    it("pages through the owner's notes newest first, each once, notes of the same instant included, and says when it is over", async () => {
      await createMany(ALICE, 30);
      // Five more in the same millisecond: the id decides their order.
      for (let i = 30; i < 35; i++) await notes.create(ALICE, input({ title: `note ${i}` }));
      await createMany(BOB, 3);
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await notes.list(ALICE, { limit: 10, cursor });
        seen.push(...titles(page.items));
        cursor = page.nextCursor ?? undefined;
        pages++;
      } while (cursor && pages < 10);
      expect(pages).toBe(4);
      expect(seen).toHaveLength(35);
      expect(new Set(seen).size).toBe(35);
      expect(seen.slice(5)).toEqual(Array.from({ length: 30 }, (_, i) => `note ${29 - i}`));
    });

    it('puts pinned notes first, each part in the order asked for, pages across both, and pinning moves no update time', async () => {
      const [a, b, c, d] = await createMany(ALICE, 4);
      await notes.update(ALICE, a.id, { body: 'edited' }, {});
      clock.advance(MINUTE);
      for (const n of [b, d]) expect((await notes.pin(ALICE, n.id, true))?.updatedAt).toEqual(n.updatedAt);
      expect(await notes.pin(BOB, c.id, true)).toBeNull();
      const all = async (order: 'updated' | 'created', limit: number) => {
        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await notes.list(ALICE, { limit, cursor, ...(cursor ? {} : { order }) });
          seen.push(...titles(page.items));
          cursor = page.nextCursor ?? undefined;
        } while (cursor && seen.length < 20);
        return seen;
      };
      for (const limit of [1, 2, 3, 4]) {
        expect(await all('updated', limit)).toEqual(['note 3', 'note 1', 'note 0', 'note 2']);
        expect(await all('created', limit)).toEqual(['note 3', 'note 1', 'note 2', 'note 0']);
      }
      // The cursor carries its order: naming the other one with it is refused.
      const first = await notes.list(ALICE, { limit: 1, order: 'created' });
      await expect(notes.list(ALICE, { limit: 1, order: 'updated', cursor: first.nextCursor! })).rejects.toThrow(BadCursor);
      // A patch with pinned alone is a pin; with other fields, an edit that also pins.
      const unpinned = await notes.update(ALICE, b.id, { pinned: false }, {});
      expect(unpinned).toMatchObject({ pinned: false, updatedAt: b.updatedAt });
      const edited = await notes.update(ALICE, c.id, { title: 'note 2, edited', pinned: true }, {});
      expect(edited).toMatchObject({ pinned: true, updatedAt: new Date(clock.nowMs()) });
    });

    it('a page that just holds the rest has no next cursor', async () => {
      await createMany(ALICE, 10);
      expect((await notes.list(ALICE, { limit: 10 })).nextCursor).toBeNull();
      expect((await notes.list(ALICE, { limit: 9 })).nextCursor).not.toBeNull();
    });

    it('filters by tag, and by tags and excluded tags in the query', async () => {
      await notes.create(ALICE, input({ title: 'ops draft', tags: ['ops', 'draft'] }));
      clock.advance(MINUTE);
      await notes.create(ALICE, input({ title: 'ops final', tags: ['ops'] }));
      clock.advance(MINUTE);
      await notes.create(ALICE, input({ title: 'home', tags: ['home'] }));
      expect(titles((await notes.list(ALICE, { tag: 'ops', limit: 20 })).items)).toEqual(['ops final', 'ops draft']);
      expect(titles((await notes.list(ALICE, { q: 'tag:ops -tag:draft', limit: 20 })).items)).toEqual(['ops final']);
    });

    it('refuses a cursor it did not hand out, and a cursor of a search on a plain list (and back)', async () => {
      await createMany(ALICE, 3, { body: 'incident review' });
      await expect(notes.list(ALICE, { cursor: 'bogus', limit: 20 })).rejects.toThrow(BadCursor);
      const searchAt = { part: 0, at: clock.nowMs(), id: '00000000-0000-4000-8000-000000000001' };
      await expect(notes.list(ALICE, { cursor: searchCursor('relevance', searchAt), limit: 20 })).rejects.toThrow(BadCursor);
      await expect(
        notes.list(ALICE, { q: 'incident', cursor: encodeKeyset({ at: clock.nowMs(), id: '00000000-0000-4000-8000-000000000001' }), limit: 20 }),
      ).rejects.toThrow(BadCursor);
      // A cursor of the other order, or of a part that order does not have.
      await expect(notes.list(ALICE, { q: 'incident', sort: 'newest', cursor: searchCursor('relevance', searchAt), limit: 20 })).rejects.toThrow(BadCursor);
      await expect(notes.list(ALICE, { q: 'incident', sort: 'newest', cursor: searchCursor('newest', { ...searchAt, part: 1 }), limit: 20 })).rejects.toThrow(
        BadCursor,
      );
    });

    it('a query with nothing to search for answers no notes and says why, without reading any', async () => {
      await createMany(ALICE, 2);
      const page = jest.spyOn(repository, 'page');
      const searched = jest.spyOn(repository, 'searchParts');
      expect(await notes.list(ALICE, { q: '- "" ', limit: 20 })).toEqual({ items: [], nextCursor: null, notice: 'search.nothingToSearch' });
      expect(page).not.toHaveBeenCalled();
      expect(searched).not.toHaveBeenCalled();
    });
  });

  describe('search', () => {
    it("finds the owner's notes only, pages on from the last result, and marks the words found in each excerpt", async () => {
      await createMany(ALICE, 5, { body: 'the incident postmortem' });
      await createMany(ALICE, 2, { body: 'unrelated' });
      await notes.create(BOB, input({ body: "bob's incident" }));
      const first = await notes.list(ALICE, { q: 'incident', limit: 3, snippets: true });
      expect(first.items).toHaveLength(3);
      expect(first.items.every((n) => n.ownerId === ALICE)).toBe(true);
      expect(first.items[0].snippet).toEqual([
        { text: 'the ', mark: false },
        { text: 'incident', mark: true },
        { text: ' postmortem', mark: false },
      ]);
      const second = await notes.list(ALICE, { q: 'incident', limit: 3, cursor: first.nextCursor! });
      expect(second.items).toHaveLength(2);
      expect(second.nextCursor).toBeNull();
      expect(new Set([...titles(first.items), ...titles(second.items)]).size).toBe(5);
    });

    it('applies tag filters to every match, not just the first page of them', async () => {
      await createMany(ALICE, 6, { body: 'deploy', tags: ['other'] });
      await notes.create(ALICE, input({ title: 'the tagged one', body: 'deploy', tags: ['ops'] }));
      clock.advance(MINUTE);
      await createMany(ALICE, 6, { body: 'deploy', tags: ['other'] });
      const result = await notes.list(ALICE, { q: 'deploy tag:ops', limit: 2 });
      expect(titles(result.items)).toEqual(['the tagged one']);
      expect(result.nextCursor).toBeNull();
    });

    it('by relevance, puts the notes with every word in the title or tags first, each part newest first; newest first on asking', async () => {
      await notes.create(ALICE, input({ title: 'deploy plan', body: 'deploy' }));
      clock.advance(MINUTE);
      await notes.create(ALICE, input({ title: 'body only, older', body: 'we deploy' }));
      clock.advance(MINUTE);
      await notes.create(ALICE, input({ title: 'tagged', body: 'deploy', tags: ['deploy'] }));
      clock.advance(MINUTE);
      await notes.create(ALICE, input({ title: 'body only, newest', body: 'deploy today' }));
      const order = ['tagged', 'deploy plan', 'body only, newest', 'body only, older'];
      expect(titles((await notes.list(ALICE, { q: 'deploy', limit: 20 })).items)).toEqual(order);
      expect(titles((await notes.list(ALICE, { q: 'deploy', sort: 'newest', limit: 20 })).items)).toEqual([
        'body only, newest',
        'tagged',
        'body only, older',
        'deploy plan',
      ]);
      // Paged one at a time, across the parts, in the same order.
      const paged: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await notes.list(ALICE, { q: 'deploy', limit: 1, cursor });
        paged.push(...titles(page.items));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(paged).toEqual(order);
    });

    it('passes on the notice about a quote left open', async () => {
      await notes.create(ALICE, input({ body: 'rolling restart' }));
      const result = await notes.list(ALICE, { q: '"rolling restart', limit: 20 });
      expect(result.notice).toBe('search.unbalancedQuote');
      expect(result.items).toHaveLength(1);
    });
  });

  describe('export and import', () => {
    it("an import keeps each note's own dates, with its tags as a set", async () => {
      const createdAt = new Date(Date.UTC(2020, 5, 1));
      const updatedAt = new Date(Date.UTC(2021, 5, 1));
      expect(
        await notes.importMany(ALICE, [
          { ...input({ title: 'old', tags: ['b', 'a', 'a'] }), createdAt, updatedAt },
          { ...input({ title: 'older' }), createdAt: new Date(Date.UTC(2019, 0, 1)), updatedAt },
        ]),
      ).toBe(2);
      const [older, old] = await notes.exportList(ALICE);
      expect([older.title, old.title]).toEqual(['older', 'old']);
      expect(await notes.get(old.id, ALICE)).toMatchObject({ createdAt, updatedAt, tags: ['a', 'b'] });
    });

    it("an export batch holds only the owner's notes outside the trash", async () => {
      const [a, b] = await createMany(ALICE, 2);
      const bobs = await notes.create(BOB, input());
      await notes.trash(ALICE, b.id);
      expect((await notes.exportBatch(ALICE, [a.id, b.id, bobs.id])).map((n) => n.id)).toEqual([a.id]);
    });
  });
});
