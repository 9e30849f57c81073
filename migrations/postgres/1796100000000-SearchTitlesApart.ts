import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Relevance search reads titles and tags first, then the rest. The first part asked for the words at weight A
 * of `document`; PostgreSQL estimates a weighted match as if it were any match (the GIN index holds no weights),
 * so a word common in bodies but in no title looked plentiful, and the planner walked every one of the owner's
 * entries to fill a page that stayed empty (370 ms at 100,000 notes). `head` is the title and tags alone,
 * generated from `document` (so every writer, of any version, fills it), with its own GIN index and statistics.
 *
 * The statistics of `document` are also finer (1000, from 100): with 100, every word outside the thousand most
 * common was estimated in 0.5% of the entries, so a word in none of them (a typo) was sought by walking every
 * entry newest first, 150–575 ms at 100,000 notes, instead of 0.2 ms through the index.
 *
 * Note writes wait while this runs (the column, its index, ANALYZE): about 6 s at 100,000 notes.
 */
export class SearchTitlesApart1796100000000 implements MigrationInterface {
  name = 'SearchTitlesApart1796100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "note_search" ADD COLUMN "head" tsvector GENERATED ALWAYS AS (ts_filter("document", '{a}')) STORED`);
    await q.query(`CREATE INDEX "idx_note_search_head" ON "note_search" USING gin ("head")`);
    await q.query(`ALTER TABLE "note_search" ALTER COLUMN "document" SET STATISTICS 1000`);
    await q.query(`ANALYZE "note_search"`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "note_search" ALTER COLUMN "document" SET STATISTICS -1`);
    await q.query(`DROP INDEX "idx_note_search_head"`);
    await q.query(`ALTER TABLE "note_search" DROP COLUMN "head"`);
  }
}
