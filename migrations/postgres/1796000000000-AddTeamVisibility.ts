import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Team notes: visibility `team` (every signed-in member reads the note; the column is a varchar with no CHECK,
 * so nothing widens) and `editable_by_team` (members may edit it too), kept in revisions as the visibility is.
 * The Team view walks team notes newest first on an index per order. A search entry carries `team`, filled
 * from its note by a trigger whenever the entry is written (as owner_id and created_at are for older writers),
 * so that a team search walks note_search alone, on a partial index of the team's entries.
 */
export class AddTeamVisibility1796000000000 implements MigrationInterface {
  name = 'AddTeamVisibility1796000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "notes" ADD COLUMN "editable_by_team" boolean NOT NULL DEFAULT false`);
    await q.query(`ALTER TABLE "note_revisions" ADD COLUMN "editable_by_team" boolean NOT NULL DEFAULT false`);
    await q.query(`CREATE INDEX "idx_notes_visibility_updated" ON "notes" ("visibility", "updated_at", "id")`);
    await q.query(`CREATE INDEX "idx_notes_visibility_created" ON "notes" ("visibility", "created_at", "id")`);
    await q.query(`ALTER TABLE "note_search" ADD COLUMN "team" boolean NOT NULL DEFAULT false`);
    await q.query(`CREATE FUNCTION "note_search_fill_team"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        NEW."team" := EXISTS (SELECT 1 FROM "notes" n WHERE n."id" = NEW."note_id" AND n."visibility" = 'team');
        RETURN NEW;
      END $$`);
    await q.query(
      `CREATE TRIGGER "trg_note_search_fill_team" BEFORE INSERT OR UPDATE ON "note_search" FOR EACH ROW EXECUTE FUNCTION "note_search_fill_team"()`,
    );
    await q.query(`UPDATE "note_search" s SET "team" = true FROM "notes" n WHERE n."id" = s."note_id" AND n."visibility" = 'team'`);
    await q.query(`CREATE INDEX "idx_note_search_team_created" ON "note_search" ("created_at", "note_id") WHERE "team"`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "idx_note_search_team_created"`);
    await q.query(`DROP TRIGGER "trg_note_search_fill_team" ON "note_search"`);
    await q.query(`DROP FUNCTION "note_search_fill_team"()`);
    await q.query(`ALTER TABLE "note_search" DROP COLUMN "team"`);
    await q.query(`DROP INDEX "idx_notes_visibility_created"`);
    await q.query(`DROP INDEX "idx_notes_visibility_updated"`);
    await q.query(`ALTER TABLE "note_revisions" DROP COLUMN "editable_by_team"`);
    await q.query(`ALTER TABLE "notes" DROP COLUMN "editable_by_team"`);
    // Team notes become private: the older version knows no other level between private and public.
    await q.query(`UPDATE "notes" SET "visibility" = 'private' WHERE "visibility" = 'team'`);
    await q.query(`UPDATE "note_revisions" SET "visibility" = 'private' WHERE "visibility" = 'team'`);
  }
}
