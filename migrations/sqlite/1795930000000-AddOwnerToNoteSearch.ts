import { MigrationInterface } from 'typeorm';

/**
 * PostgreSQL's note_search gained the owner and creation time of each note.
 * SQLite's search index (notes_fts) has carried the owner since it was
 * created, and its rowids follow the order in which an owner's notes were
 * written (rebuilds write them oldest first): nothing changes here. The migration exists so that both engines are at the same schema
 * version, which exports, imports and `kiroku db copy` compare.
 */
export class AddOwnerToNoteSearch1795930000000 implements MigrationInterface {
  name = 'AddOwnerToNoteSearch1795930000000';

  async up(): Promise<void> {}

  async down(): Promise<void> {}
}
