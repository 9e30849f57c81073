import { MigrationInterface } from 'typeorm';

/**
 * Nothing on PostgreSQL: its GIN index takes new entries into a pending list that VACUUM (or a full list) moves
 * into the index. The SQLite migration of this name has FTS5 merge its segments eight at a time, so both
 * engines stay at the same schema version.
 */
export class MergeSearchIndexEightAtATime1796200000000 implements MigrationInterface {
  name = 'MergeSearchIndexEightAtATime1796200000000';

  async up(): Promise<void> {}

  async down(): Promise<void> {}
}
