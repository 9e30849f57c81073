import { MigrationInterface } from 'typeorm';

/**
 * Nothing on SQLite, where a statement is a call into the process, not a round trip: the PostgreSQL migration of
 * this name writes a note, its tags and its search entry in one function call. Both engines stay at the same
 * schema version.
 */
export class CreateNotesInOneCall1796300000000 implements MigrationInterface {
  name = 'CreateNotesInOneCall1796300000000';

  async up(): Promise<void> {}

  async down(): Promise<void> {}
}
