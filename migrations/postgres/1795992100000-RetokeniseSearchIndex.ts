import { MigrationInterface, QueryRunner } from 'typeorm';
import { reindexSearch } from '../../src/modules/notes';

/**
 * One tokenisation of search for both engines (src/modules/notes/search/text.ts): each document is now the
 * application's tokens cast to tsvector, no longer to_tsvector's parser, which read `plum-137` as `plum` and
 * the signed number `-137` and split dates, versions and e-mail addresses its own way. Every entry is
 * rewritten: a few seconds per 100,000 notes.
 */
export class RetokeniseSearchIndex1795992100000 implements MigrationInterface {
  name = 'RetokeniseSearchIndex1795992100000';

  async up(q: QueryRunner): Promise<void> {
    await reindexSearch('postgres', q.manager);
  }

  /** The previous version searched documents with to_tsquery: it finds most words in these too. */
  async down(q: QueryRunner): Promise<void> {
    await reindexSearch('postgres', q.manager);
  }
}
