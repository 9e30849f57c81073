import { MigrationInterface, QueryRunner } from 'typeorm';

/** The note's tag names, space-separated in byte order ('' for none), as the triggers below compute them. */
const tagNamesOf = (noteId: string) =>
  `coalesce((SELECT string_agg(t."name", ' ' ORDER BY t."name" COLLATE "C") FROM "note_tags" nt INNER JOIN "tags" t ON t."id" = nt."tag_id" WHERE nt."note_id" = ${noteId}), '')`;

/**
 * Each note carries a copy of its tag names, so that a page of notes is one
 * statement: before, the page's tags took a second round trip. note_tags and
 * tags stay the truth (filters and the tag list read them); triggers keep the
 * copy, whoever writes them: the application, an import, `kiroku db copy`, and
 * during a rolling deploy the instances of the previous version, which know
 * nothing of the column. Adding it is instant (a constant default); existing
 * notes get theirs here, which rewrites their rows: about 2.3 s at
 * 100,000 notes, while note writes wait.
 */
export class AddTagNamesToNotes1795940000000 implements MigrationInterface {
  name = 'AddTagNamesToNotes1795940000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "notes" ADD COLUMN "tag_names" text NOT NULL DEFAULT ''`);
    // Once per statement, over the rows it inserted or deleted ("changed"): a note saved with 20 tags is one update.
    await q.query(`CREATE FUNCTION "notes_refresh_tag_names"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE "notes" n SET "tag_names" = ${tagNamesOf('n."id"')} WHERE n."id" IN (SELECT "note_id" FROM "changed");
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER "trg_note_tags_inserted" AFTER INSERT ON "note_tags" REFERENCING NEW TABLE AS "changed" FOR EACH STATEMENT EXECUTE FUNCTION "notes_refresh_tag_names"()`);
    await q.query(`CREATE TRIGGER "trg_note_tags_deleted" AFTER DELETE ON "note_tags" REFERENCING OLD TABLE AS "changed" FOR EACH STATEMENT EXECUTE FUNCTION "notes_refresh_tag_names"()`);
    // PostgreSQL allows no transition table on a trigger for one column: once per renamed tag.
    await q.query(`CREATE FUNCTION "notes_refresh_renamed_tag"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE "notes" n SET "tag_names" = ${tagNamesOf('n."id"')} WHERE n."id" IN (SELECT "note_id" FROM "note_tags" WHERE "tag_id" = NEW."id");
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER "trg_tags_renamed" AFTER UPDATE OF "name" ON "tags" FOR EACH ROW WHEN (OLD."name" IS DISTINCT FROM NEW."name") EXECUTE FUNCTION "notes_refresh_renamed_tag"()`);
    await q.query(`UPDATE "notes" n SET "tag_names" = x."names"
        FROM (SELECT nt."note_id", string_agg(t."name", ' ' ORDER BY t."name" COLLATE "C") AS "names"
                FROM "note_tags" nt INNER JOIN "tags" t ON t."id" = nt."tag_id" GROUP BY nt."note_id") x
       WHERE n."id" = x."note_id"`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER "trg_tags_renamed" ON "tags"`);
    await q.query(`DROP TRIGGER "trg_note_tags_deleted" ON "note_tags"`);
    await q.query(`DROP TRIGGER "trg_note_tags_inserted" ON "note_tags"`);
    await q.query(`DROP FUNCTION "notes_refresh_renamed_tag"()`);
    await q.query(`DROP FUNCTION "notes_refresh_tag_names"()`);
    await q.query(`ALTER TABLE "notes" DROP COLUMN "tag_names"`);
  }
}
