import { Database, Engine } from '@kiroku/persistence';
import { EntityManager } from 'typeorm';
import { splitTagNames } from '../note.entity';
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
export async function rebuildSearchIndex(db: Database, inTransaction: <T>(fn: (m: EntityManager) => Promise<T>) => Promise<T>, batch = 500): Promise<number> {
  const index = SearchIndex.for(db);
  // A keyset over the (owner_id, created_at, id) index: each owner's notes oldest first, which is the order
  // that matters (a search only walks its owner's entries).
  let after: [string, number, string] = ['', Number.MIN_SAFE_INTEGER, ''];
  let total = 0;
  for (;;) {
    const done = await inTransaction(async (m) => {
      // Trashed notes are skipped here rather than in SQL, where the condition drew SQLite to the deleted_at index.
      const rows: Array<{ id: string; ownerId: string; title: string; body: string; createdAt: number | string; trashed: number | boolean; tagNames: string }> = await m.query(
        `SELECT n.id, n.owner_id AS "ownerId", n.title, n.body, n.created_at AS "createdAt", n.deleted_at IS NOT NULL AS "trashed", n.tag_names AS "tagNames"
           FROM notes n
          WHERE (n.owner_id, n.created_at, n.id) > (${db.placeholder(1)}, ${db.placeholder(2)}, ${db.placeholder(3)})
          ORDER BY n.owner_id, n.created_at, n.id LIMIT ${batch}`,
        after,
      );
      if (rows.length === 0) return true;
      const notes = rows.filter((r) => !r.trashed).map((r) => ({ ...r, createdAt: new Date(Number(r.createdAt)), tags: splitTagNames(r.tagNames) }));
      await index.writeMany(m, notes);
      total += notes.length;
      // Moved on only once the batch is written: a retried batch is written again, never skipped.
      const last = rows[rows.length - 1];
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
