import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Search entries numbered newest first: each new entry of notes_fts takes a rowid below every other one (0, -1,
 * -2, …), so that an owner's newest matches are the lowest rowids. FTS5 walks its doclists forwards, skipping
 * through the owner's long doclist with its doclist index; walking them backwards (newest first when rowids
 * grew) read that doclist whole: a search for a rare word took 3.9 ms at 100,000 notes and 7.2 ms at 1,000,000,
 * growing with the notes (see docs/benchmarks.md, `scale`). Existing entries are copied into a new table with
 * their rowids negated, which keeps their order: about 2 s per 100,000 notes, note writes waiting meanwhile.
 */
export class NumberSearchEntriesNewestFirst1795950000000 implements MigrationInterface {
  name = 'NumberSearchEntriesNewestFirst1795950000000';

  up(q: QueryRunner): Promise<void> {
    return negateSearchRowids(q);
  }

  /** Negating the rowids again puts them back as they were. */
  down(q: QueryRunner): Promise<void> {
    return negateSearchRowids(q);
  }
}

/** notes_fts copied into a new table with every rowid negated (order reversed), and notes_fts_map to match. */
async function negateSearchRowids(q: QueryRunner): Promise<void> {
  await q.query(`CREATE VIRTUAL TABLE "notes_fts_next" USING fts5(owner, title, tags, body, tokenize = 'unicode61 remove_diacritics 2')`);
  await q.query(`INSERT INTO "notes_fts_next" ("rowid", "owner", "title", "tags", "body") SELECT -"rowid", "owner", "title", "tags", "body" FROM "notes_fts"`);
  await q.query(`DROP TABLE "notes_fts"`);
  await q.query(`ALTER TABLE "notes_fts_next" RENAME TO "notes_fts"`);
  await q.query(`UPDATE "notes_fts_map" SET "fts_rowid" = -"fts_rowid"`);
}
