import { MigrationInterface } from 'typeorm';

/**
 * SQLite's search entries are numbered newest first (see the SQLite migration of the same name). PostgreSQL's
 * note_search walks an owner's entries by creation time: nothing changes here. The migration exists so that
 * both engines are at the same schema version, which exports, imports and `kiroku db copy` compare.
 */
export class NumberSearchEntriesNewestFirst1795950000000 implements MigrationInterface {
  name = 'NumberSearchEntriesNewestFirst1795950000000';

  async up(): Promise<void> {}

  async down(): Promise<void> {}
}
