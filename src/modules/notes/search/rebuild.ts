import { Engine } from '@kiroku/persistence';
import { EntityManager } from 'typeorm';
import { SearchIndex } from './search-index';

/**
 * Writes the search entry of every note that is not in the trash, `batch`
 * notes per call of `inTransaction`, each owner's oldest first. The index tables are
 * engine-specific (FTS5 on SQLite, tsvector on PostgreSQL) and derived from
 * notes and tags, so copies and imports rebuild them on the target instead of
 * copying them. Creation order matters on SQLite: search takes FTS5's newest
 * rowids as an owner's newest matches. Expects an empty index. Returns how many
 * notes were indexed.
 */
export async function rebuildSearchIndex(engine: Engine, inTransaction: <T>(fn: (m: EntityManager) => Promise<T>) => Promise<T>, batch = 500): Promise<number> {
  const index = SearchIndex.for({ engine });
  const p = (i: number) => (engine === 'postgres' ? `$${i}` : '?');
  // A keyset over the (owner_id, created_at, id) index: each owner's notes oldest first, which is the order
  // that matters (a search only walks its owner's entries).
  let after: [string, number, string] = ['', Number.MIN_SAFE_INTEGER, ''];
  let total = 0;
  for (;;) {
    const done = await inTransaction(async (m) => {
      // Trashed notes are skipped here rather than in SQL, where the condition drew SQLite to the deleted_at index.
      const rows: Array<{ id: string; ownerId: string; title: string; body: string; createdAt: number | string; trashed: number | boolean }> = await m.query(
        `SELECT id, owner_id AS "ownerId", title, body, created_at AS "createdAt", deleted_at IS NOT NULL AS "trashed" FROM notes
          WHERE (owner_id, created_at, id) > (${p(1)}, ${p(2)}, ${p(3)})
          ORDER BY owner_id, created_at, id LIMIT ${batch}`,
        after,
      );
      if (rows.length === 0) return true;
      const last = rows[rows.length - 1];
      const notes = rows.filter((r) => !r.trashed).map(({ trashed: _, ...note }) => note);
      const ids = notes.map((n) => n.id);
      const tagRows: Array<{ noteId: string; name: string }> = ids.length
        ? await m.query(
            `SELECT nt.note_id AS "noteId", t.name FROM note_tags nt INNER JOIN tags t ON t.id = nt.tag_id
              WHERE nt.note_id IN (${ids.map((_, i) => p(i + 1)).join(', ')}) ORDER BY t.name`,
            ids,
          )
        : [];
      const tags = new Map<string, string[]>();
      for (const r of tagRows) tags.set(r.noteId, [...(tags.get(r.noteId) ?? []), r.name]);
      await index.writeMany(m, notes.map((note) => ({ ...note, createdAt: new Date(Number(note.createdAt)), tags: tags.get(note.id) ?? [] })));
      total += notes.length;
      // Moved on only once the batch is written: a retried batch is written again, never skipped.
      after = [last.ownerId, Number(last.createdAt), last.id];
      return rows.length < batch;
    });
    if (done) return total;
  }
}

/** Empties the engine's search index (before a rebuild over a partly copied database). */
export async function clearSearchIndex(engine: Engine, m: EntityManager): Promise<void> {
  if (engine === 'postgres') {
    await m.query('DELETE FROM "note_search"');
  } else {
    await m.query('DELETE FROM "notes_fts"');
    await m.query('DELETE FROM "notes_fts_map"');
  }
}
