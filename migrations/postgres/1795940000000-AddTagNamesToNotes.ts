import { MigrationInterface, QueryRunner } from 'typeorm';

/** The note's tag names, space-separated in byte order ('' for none), as the triggers below compute them. */
const tagNamesOf = (noteId: string) =>
  `coalesce((SELECT string_agg(t."name", ' ' ORDER BY t."name" COLLATE "C") FROM "note_tags" nt INNER JOIN "tags" t ON t."id" = nt."tag_id" WHERE nt."note_id" = ${noteId}), '')`;

/**
 * Statements that make the copy of the notes in `noteIds` (a subquery) again from note_tags. At READ
 * COMMITTED an update that waits for another transaction's lock on a note re-checks the note's row but not
 * its subquery, which would then write names computed before the other transaction committed (two
 * transactions tagging one note left one tag in the copy). So the notes are locked first, and the copy is
 * made by the next statement, whose snapshot follows that lock. (A rename needs no more: `name` is in a
 * unique key, so renaming a tag waits for, and is waited for by, the foreign-key lock of any transaction
 * adding that tag to a note.)
 */
const refresh = (noteIds: string) => `
        PERFORM 1 FROM "notes" WHERE "id" IN (${noteIds}) ORDER BY "id" FOR NO KEY UPDATE;
        UPDATE "notes" n SET "tag_names" = ${tagNamesOf('n."id"')} WHERE n."id" IN (${noteIds});`;

/**
 * Each note carries a copy of its tag names, so that a page of notes is one
 * statement: before, the page's tags took a second round trip. note_tags and
 * tags stay the truth (filters and the tag list read them); triggers keep the
 * copy, whoever writes them: the application, an import, `kiroku db copy`,
 * hand-written statements, and during a rolling deploy the instances of the
 * previous version, which know nothing of the column. Adding the column is
 * instant (a constant default), but the migration's transaction then holds
 * the table's lock while it fills in existing notes: reads and writes of
 * notes wait about 2.3 s per 100,000 notes.
 */
export class AddTagNamesToNotes1795940000000 implements MigrationInterface {
  name = 'AddTagNamesToNotes1795940000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "notes" ADD COLUMN "tag_names" text NOT NULL DEFAULT ''`);
    // Once per statement, over the rows it changed ("changed"): a note saved with 20 tags is one update.
    await q.query(`CREATE FUNCTION "notes_refresh_tag_names"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN${refresh('SELECT "note_id" FROM "changed"')}
        RETURN NULL;
      END $$`);
    await q.query(
      `CREATE TRIGGER "trg_note_tags_inserted" AFTER INSERT ON "note_tags" REFERENCING NEW TABLE AS "changed" FOR EACH STATEMENT EXECUTE FUNCTION "notes_refresh_tag_names"()`,
    );
    await q.query(
      `CREATE TRIGGER "trg_note_tags_deleted" AFTER DELETE ON "note_tags" REFERENCING OLD TABLE AS "changed" FOR EACH STATEMENT EXECUTE FUNCTION "notes_refresh_tag_names"()`,
    );
    // A row moved to another note or tag (a hand-made merge) changes the copy of both notes; PostgreSQL allows
    // no transition table on a trigger for some columns only, so once per row.
    await q.query(`CREATE FUNCTION "notes_refresh_moved_tag"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN${refresh('OLD."note_id", NEW."note_id"')}
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER "trg_note_tags_moved" AFTER UPDATE ON "note_tags" FOR EACH ROW EXECUTE FUNCTION "notes_refresh_moved_tag"()`);
    await q.query(`CREATE FUNCTION "notes_clear_tag_names"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE "notes" SET "tag_names" = '' WHERE "tag_names" <> '';
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER "trg_note_tags_truncated" AFTER TRUNCATE ON "note_tags" FOR EACH STATEMENT EXECUTE FUNCTION "notes_clear_tag_names"()`);
    await q.query(`CREATE FUNCTION "notes_refresh_renamed_tag"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN${refresh('SELECT "note_id" FROM "note_tags" WHERE "tag_id" = NEW."id"')}
        RETURN NULL;
      END $$`);
    await q.query(
      `CREATE TRIGGER "trg_tags_renamed" AFTER UPDATE OF "name" ON "tags" FOR EACH ROW WHEN (OLD."name" IS DISTINCT FROM NEW."name") EXECUTE FUNCTION "notes_refresh_renamed_tag"()`,
    );
    await q.query(`UPDATE "notes" n SET "tag_names" = x."names"
        FROM (SELECT nt."note_id", string_agg(t."name", ' ' ORDER BY t."name" COLLATE "C") AS "names"
                FROM "note_tags" nt INNER JOIN "tags" t ON t."id" = nt."tag_id" GROUP BY nt."note_id") x
       WHERE n."id" = x."note_id"`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER "trg_tags_renamed" ON "tags"`);
    await q.query(`DROP TRIGGER "trg_note_tags_truncated" ON "note_tags"`);
    await q.query(`DROP TRIGGER "trg_note_tags_moved" ON "note_tags"`);
    await q.query(`DROP TRIGGER "trg_note_tags_deleted" ON "note_tags"`);
    await q.query(`DROP TRIGGER "trg_note_tags_inserted" ON "note_tags"`);
    await q.query(`DROP FUNCTION "notes_refresh_renamed_tag"()`);
    await q.query(`DROP FUNCTION "notes_clear_tag_names"()`);
    await q.query(`DROP FUNCTION "notes_refresh_moved_tag"()`);
    await q.query(`DROP FUNCTION "notes_refresh_tag_names"()`);
    await q.query(`ALTER TABLE "notes" DROP COLUMN "tag_names"`);
  }
}
