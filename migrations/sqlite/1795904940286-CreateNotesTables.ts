import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateNotesTables1795904940286 implements MigrationInterface {
  name = 'CreateNotesTables1795904940286';

  // Search: an FTS5 table (unicode61 words; CJK text is indexed as bigrams, see src/modules/notes/search)
  // and a map from note ids to its integer rowids.
  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "notes" (
        "id" varchar(36) NOT NULL,
        "owner_id" varchar(36) NOT NULL,
        "title" varchar(200) NOT NULL,
        "body" text NOT NULL,
        "visibility" varchar(16) NOT NULL DEFAULT ('private'),
        "created_at" bigint NOT NULL,
        "updated_at" bigint NOT NULL,
        "deleted_at" bigint,
        CONSTRAINT "pk_notes" PRIMARY KEY ("id"),
        CONSTRAINT "fk_notes_owner" FOREIGN KEY ("owner_id") REFERENCES "users" ("id") ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX "idx_notes_owner_created" ON "notes" ("owner_id", "created_at", "id")`);
    await q.query(`CREATE INDEX "idx_notes_deleted_at" ON "notes" ("deleted_at")`);
    await q.query(`CREATE TABLE "tags" (
        "id" varchar(36) NOT NULL,
        "owner_id" varchar(36) NOT NULL,
        "name" varchar(32) NOT NULL,
        CONSTRAINT "uq_tags_owner_name" UNIQUE ("owner_id", "name"),
        CONSTRAINT "pk_tags" PRIMARY KEY ("id"),
        CONSTRAINT "fk_tags_owner" FOREIGN KEY ("owner_id") REFERENCES "users" ("id") ON DELETE CASCADE
      )`);
    await q.query(`CREATE TABLE "note_tags" (
        "note_id" varchar(36) NOT NULL,
        "tag_id" varchar(36) NOT NULL,
        CONSTRAINT "pk_note_tags" PRIMARY KEY ("note_id", "tag_id"),
        CONSTRAINT "fk_note_tags_note" FOREIGN KEY ("note_id") REFERENCES "notes" ("id") ON DELETE CASCADE,
        CONSTRAINT "fk_note_tags_tag" FOREIGN KEY ("tag_id") REFERENCES "tags" ("id") ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX "idx_note_tags_tag_id" ON "note_tags" ("tag_id")`);
    await q.query(`CREATE VIRTUAL TABLE "notes_fts" USING fts5(owner, title, tags, body, tokenize = 'unicode61 remove_diacritics 2')`);
    // FTS5 rows are found by integer rowid; this maps each note to its row both ways.
    await q.query(`CREATE TABLE "notes_fts_map" ("note_id" varchar(36) NOT NULL PRIMARY KEY, "fts_rowid" integer NOT NULL UNIQUE)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "notes_fts_map"`);
    await q.query(`DROP TABLE "notes_fts"`);
    await q.query(`DROP TABLE "note_tags"`);
    await q.query(`DROP TABLE "tags"`);
    await q.query(`DROP TABLE "notes"`);
  }
}
