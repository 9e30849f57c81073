import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Team notes: visibility `team` (every signed-in member reads the note; the column is a varchar with no CHECK,
 * so nothing widens) and `editable_by_team` (members may edit it too), kept in revisions as the visibility is.
 * The Team view walks team notes newest first on an index per order. Search needs no change here: a team note's
 * FTS5 entry carries the token `team` in its owner column beside its owner's (no note is `team` before this).
 */
export class AddTeamVisibility1796000000000 implements MigrationInterface {
  name = 'AddTeamVisibility1796000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "notes" ADD COLUMN "editable_by_team" boolean NOT NULL DEFAULT (0)`);
    await q.query(`ALTER TABLE "note_revisions" ADD COLUMN "editable_by_team" boolean NOT NULL DEFAULT (0)`);
    await q.query(`CREATE INDEX "idx_notes_visibility_updated" ON "notes" ("visibility", "updated_at", "id")`);
    await q.query(`CREATE INDEX "idx_notes_visibility_created" ON "notes" ("visibility", "created_at", "id")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "idx_notes_visibility_created"`);
    await q.query(`DROP INDEX "idx_notes_visibility_updated"`);
    await q.query(`ALTER TABLE "note_revisions" DROP COLUMN "editable_by_team"`);
    await q.query(`ALTER TABLE "notes" DROP COLUMN "editable_by_team"`);
    // Team notes become private: the older version knows no other level between private and public.
    await q.query(`UPDATE "notes" SET "visibility" = 'private' WHERE "visibility" = 'team'`);
    await q.query(`UPDATE "note_revisions" SET "visibility" = 'private' WHERE "visibility" = 'team'`);
  }
}
