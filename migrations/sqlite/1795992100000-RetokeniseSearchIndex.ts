import { MigrationInterface, QueryRunner } from 'typeorm';
import { reindexSearch } from '../../src/modules/notes';

/**
 * One tokenisation of search for both engines (src/modules/notes/search/text.ts): the application cuts text
 * into tokens and FTS5 stores them as given, with the `ascii` tokenizer (which splits at the spaces between
 * them and nowhere else) instead of unicode61's own word rules. Prefix indexes of 2, 3 and 4 characters make
 * a search as you type (the last word matches as a prefix) one doclist read: without them FTS5 merges the
 * doclists of every word with that start before it stops at the page (`the*` 6 ms instead of 0.1 at 100,000
 * notes). They cost about half the index's size again, and its writes twice the time. Every entry is
 * rewritten: tens of seconds per 100,000 notes, note writes waiting meanwhile.
 */
export class RetokeniseSearchIndex1795992100000 implements MigrationInterface {
  name = 'RetokeniseSearchIndex1795992100000';

  async up(q: QueryRunner): Promise<void> {
    await recreate(q, `tokenize = 'ascii', prefix = '2 3 4'`);
  }

  /** unicode61 again, its entries rewritten from the notes (with this version's tokens, which it reads alike). */
  async down(q: QueryRunner): Promise<void> {
    await recreate(q, `tokenize = 'unicode61 remove_diacritics 2'`);
  }
}

async function recreate(q: QueryRunner, options: string): Promise<void> {
  await q.query(`DROP TABLE "notes_fts"`);
  await q.query(`CREATE VIRTUAL TABLE "notes_fts" USING fts5(owner, title, tags, body, ${options})`);
  await reindexSearch('sqlite', q.manager);
}
