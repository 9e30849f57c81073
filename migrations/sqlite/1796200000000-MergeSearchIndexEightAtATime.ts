import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * FTS5 merges the search index's segments as notes are written: every 64 leaf pages a commit writes, that commit
 * also merges 64 pages per level of the index (7 levels after 20,000 creates on 100,000 notes: 448 pages, 12–17
 * ms). With four segments a level before they merge (FTS5's default), one create in 70 carried such a merge
 * under a steady stream of creates (p99 12.8 ms at one connection, 30 s); with eight, there are fewer levels and
 * a third less merging (p99 4.0 ms). A search looks through more segments (31 against 14 after those creates):
 * a rare word's took 0.85 ms against 0.75.
 *
 * `automerge` is the index's own setting, kept in notes_fts_config: a migration that makes notes_fts again must
 * set it again (the schema test reads it).
 */
export class MergeSearchIndexEightAtATime1796200000000 implements MigrationInterface {
  name = 'MergeSearchIndexEightAtATime1796200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`INSERT INTO "notes_fts" ("notes_fts", "rank") VALUES ('automerge', 8)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`INSERT INTO "notes_fts" ("notes_fts", "rank") VALUES ('automerge', 4)`);
  }
}
