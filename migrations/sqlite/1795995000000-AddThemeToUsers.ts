import { MigrationInterface, QueryRunner } from 'typeorm';

/** Each account's colour theme: light, dark, or system (the browser's choice, as before this column). */
export class AddThemeToUsers1795995000000 implements MigrationInterface {
  name = 'AddThemeToUsers1795995000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "users" ADD COLUMN "theme" varchar(8) NOT NULL DEFAULT ('system')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "users" DROP COLUMN "theme"`);
  }
}
