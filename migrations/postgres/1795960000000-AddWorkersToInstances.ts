import { MigrationInterface, QueryRunner } from 'typeorm';

/** A machine of several worker processes registers once, with how many of its workers serve (WEB_CONCURRENCY). */
export class AddWorkersToInstances1795960000000 implements MigrationInterface {
  name = 'AddWorkersToInstances1795960000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "instances" ADD COLUMN "workers" integer NOT NULL DEFAULT 1`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "instances" DROP COLUMN "workers"`);
  }
}
