import { Engine } from '@kiroku/persistence';
import { EntityManager } from 'typeorm';
import { SearchIndex } from './search-index';

/**
 * Writes the search entry of every note that is not in the trash, `batch`
 * notes per call of `inTransaction`. The index tables are engine-specific
 * (FTS5 on SQLite, tsvector on PostgreSQL) and derived from notes and tags,
 * so copies and imports rebuild them on the target instead of copying them.
 * Expects an empty index. Returns how many notes were indexed.
 */
export async function rebuildSearchIndex(engine: Engine, inTransaction: <T>(fn: (m: EntityManager) => Promise<T>) => Promise<T>, batch = 500): Promise<number> {
  const index = SearchIndex.for({ engine });
  const p = (i: number) => (engine === 'postgres' ? `$${i}` : '?');
  // Byte order on both engines: PostgreSQL's default collation would compare ids differently from the keyset below.
  const c = engine === 'postgres' ? ' COLLATE "C"' : '';
  let after = '';
  let total = 0;
  for (;;) {
    const done = await inTransaction(async (m) => {
      const notes: Array<{ id: string; ownerId: string; title: string; body: string; createdAt: number | string }> = await m.query(
        `SELECT id, owner_id AS "ownerId", title, body, created_at AS "createdAt" FROM notes WHERE deleted_at IS NULL AND id${c} > ${p(1)} ORDER BY id${c} LIMIT ${batch}`,
        [after],
      );
      if (notes.length === 0) return true;
      const tagRows: Array<{ noteId: string; name: string }> = await m.query(
        `SELECT nt.note_id AS "noteId", t.name FROM note_tags nt INNER JOIN tags t ON t.id = nt.tag_id
          WHERE nt.note_id${c} >= ${p(1)} AND nt.note_id${c} <= ${p(2)} ORDER BY t.name`,
        [notes[0].id, notes[notes.length - 1].id],
      );
      const tags = new Map<string, string[]>();
      for (const r of tagRows) tags.set(r.noteId, [...(tags.get(r.noteId) ?? []), r.name]);
      await index.writeMany(m, notes.map((note) => ({ ...note, createdAt: new Date(Number(note.createdAt)), tags: tags.get(note.id) ?? [] })));
      total += notes.length;
      after = notes[notes.length - 1].id;
      return notes.length < batch;
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
