import { Database, Engine } from '@kiroku/persistence';
import { EntityManager } from 'typeorm';
import { splitTagNames } from '../note.entity';
import { IndexPosition, NotesRepository } from '../notes.repository';
import { SearchIndex } from './search-index';

/**
 * Writes the search entry of every note that is not in the trash, `batch`
 * notes per call of `inTransaction`, each owner's oldest first. The index tables are
 * engine-specific (FTS5 on SQLite, tsvector on PostgreSQL) and derived from
 * notes and tags, so copies and imports rebuild them on the target instead of
 * copying them. Creation order matters on SQLite: search takes FTS5's lowest
 * rowids (each entry written takes one below the others) as an owner's newest matches. Expects an empty index. Returns how many
 * notes were indexed.
 */
export async function rebuildSearchIndex(db: Database, inTransaction: <T>(fn: (m: EntityManager) => Promise<T>) => Promise<T>, batch = 500): Promise<number> {
  const notes = new NotesRepository(db);
  const index = SearchIndex.for(db);
  // A keyset over the (owner_id, created_at, id) index: each owner's notes oldest first, which is the order
  // that matters (a search only walks its owner's entries).
  let after: IndexPosition = ['', Number.MIN_SAFE_INTEGER, ''];
  let total = 0;
  for (;;) {
    const done = await inTransaction(async (m) => {
      const rows = await notes.indexBatch(m, after, batch);
      if (rows.length === 0) return true;
      // Trashed notes are skipped here rather than in SQL, where the condition drew SQLite to the deleted_at index.
      const live = rows.filter((r) => !r.trashed);
      await index.writeMany(m, live);
      total += live.length;
      // Moved on only once the batch is written: a retried batch is written again, never skipped.
      const last = rows[rows.length - 1];
      after = [last.ownerId, last.createdAt.getTime(), last.id];
      return rows.length < batch;
    });
    if (done) return total;
  }
}

/** Empties the engine's search index (before a rebuild over a partly copied database). */
export async function clearSearchIndex(engine: Engine, m: EntityManager): Promise<void> {
  await SearchIndex.for({ engine }).clear(m);
}

/**
 * Rewrites every search entry in `m` (a migration's transaction) from the notes outside the trash, with the
 * tokenisation of this version (text.ts): the migration that changes it calls this. Each owner's notes oldest
 * first, as rebuildSearchIndex writes them. Returns how many notes were indexed.
 */
export async function reindexSearch(engine: Engine, m: EntityManager, batch = 500): Promise<number> {
  const index = SearchIndex.for({ engine });
  await index.clear(m);
  const $ = (i: number) => (engine === 'postgres' ? `$${i}` : '?');
  let after: IndexPosition = ['', Number.MIN_SAFE_INTEGER, ''];
  let total = 0;
  for (;;) {
    const rows: Array<{
      id: string;
      ownerId: string;
      title: string;
      body: string;
      createdAt: number | string;
      trashed: number | boolean;
      tagNames: string;
      visibility: string;
    }> = await m.query(
      `SELECT n.id, n.owner_id AS "ownerId", n.title, n.body, n.created_at AS "createdAt", n.deleted_at IS NOT NULL AS "trashed", n.tag_names AS "tagNames",
              n.visibility
           FROM notes n WHERE (n.owner_id, n.created_at, n.id) > (${$(1)}, ${$(2)}, ${$(3)})
          ORDER BY n.owner_id, n.created_at, n.id LIMIT ${batch}`,
      after,
    );
    if (rows.length === 0) return total;
    const live = rows.filter((r) => !r.trashed);
    await index.writeMany(
      m,
      live.map((r) => ({
        id: r.id,
        ownerId: r.ownerId,
        title: r.title,
        body: r.body,
        createdAt: new Date(Number(r.createdAt)),
        tags: splitTagNames(r.tagNames),
        team: r.visibility === 'team',
      })),
    );
    total += live.length;
    const last = rows[rows.length - 1];
    after = [last.ownerId, Number(last.createdAt), last.id];
    if (rows.length < batch) return total;
  }
}
