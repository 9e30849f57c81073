import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every note has a version, raised by each write (a save compares it in the UPDATE, so two saves from the same
 * version cannot both win, whichever replica takes them), and who wrote it; each change of its content keeps
 * the state before it in note_revisions.
 */
export class AddNoteVersionsAndRevisions1795970000000 implements MigrationInterface {
  name = 'AddNoteVersionsAndRevisions1795970000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "notes" ADD COLUMN "version" integer NOT NULL DEFAULT 1`);
    // No foreign key: a revision's author may be an account deleted since; the history says so.
    await q.query(`ALTER TABLE "notes" ADD COLUMN "updated_by" varchar(36)`);
    await q.query(`UPDATE "notes" SET "updated_by" = "owner_id"`);
    await q.query(`CREATE TABLE "note_revisions" (
        "note_id" varchar(36) NOT NULL,
        "version" integer NOT NULL,
        "title" varchar(200) NOT NULL,
        "body" text NOT NULL,
        "tag_names" text NOT NULL,
        "visibility" varchar(16) NOT NULL,
        "author_id" varchar(36),
        "saved_at" bigint NOT NULL,
        CONSTRAINT "pk_note_revisions" PRIMARY KEY ("note_id", "version"),
        CONSTRAINT "fk_note_revisions_note" FOREIGN KEY ("note_id") REFERENCES "notes" ("id") ON DELETE CASCADE
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "note_revisions"`);
    await q.query(`ALTER TABLE "notes" DROP COLUMN "updated_by"`);
    await q.query(`ALTER TABLE "notes" DROP COLUMN "version"`);
  }
}
