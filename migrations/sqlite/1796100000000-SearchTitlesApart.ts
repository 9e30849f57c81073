import { MigrationInterface } from 'typeorm';

/**
 * Nothing on SQLite: FTS5 keeps the title and tags in columns of their own already, and a search of them reads
 * those columns alone. The PostgreSQL migration of this name gives note_search the same (a `head` column), so
 * both engines stay at the same schema version.
 */
export class SearchTitlesApart1796100000000 implements MigrationInterface {
  name = 'SearchTitlesApart1796100000000';

  async up(): Promise<void> {}

  async down(): Promise<void> {}
}
