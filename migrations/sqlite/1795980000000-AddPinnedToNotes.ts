import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A note can be pinned to the top of the list, and the list can be ordered by last update or by creation: an
 * index per order, pinned notes first, so that either page is a walk of the owner's part of an index.
 */
export class AddPinnedToNotes1795980000000 implements MigrationInterface {
  name = 'AddPinnedToNotes1795980000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "notes" ADD COLUMN "pinned" boolean NOT NULL DEFAULT (0)`);
    await q.query(`CREATE INDEX "idx_notes_owner_pinned_updated" ON "notes" ("owner_id", "pinned", "updated_at", "id")`);
    await q.query(`CREATE INDEX "idx_notes_owner_pinned_created" ON "notes" ("owner_id", "pinned", "created_at", "id")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "idx_notes_owner_pinned_created"`);
    await q.query(`DROP INDEX "idx_notes_owner_pinned_updated"`);
    await q.query(`ALTER TABLE "notes" DROP COLUMN "pinned"`);
  }
}
