import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateFoundationTables1795901079716 implements MigrationInterface {
  name = 'CreateFoundationTables1795901079716';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "task_leases" (
        "task_id" varchar(100) NOT NULL,
        "slot" varchar(64) NOT NULL,
        "holder" varchar(128) NOT NULL,
        "token" varchar(64) NOT NULL,
        "claimed_at" bigint NOT NULL,
        "expires_at" bigint NOT NULL,
        "finished_at" bigint,
        "outcome" varchar(16),
        "attempts" integer NOT NULL DEFAULT 1,
        CONSTRAINT "pk_task_leases" PRIMARY KEY ("task_id", "slot")
      )`);
    await q.query(`CREATE INDEX "idx_task_leases_claimed_at" ON "task_leases" ("claimed_at")`);
    await q.query(`
      CREATE TABLE "instances" (
        "id" varchar(128) NOT NULL,
        "hostname" varchar(255) NOT NULL,
        "pid" integer NOT NULL,
        "version" varchar(32) NOT NULL,
        "engine" varchar(16) NOT NULL,
        "started_at" bigint NOT NULL,
        "heartbeat_at" bigint NOT NULL,
        "stopped_at" bigint,
        CONSTRAINT "pk_instances" PRIMARY KEY ("id")
      )`);
    await q.query(`CREATE INDEX "idx_instances_heartbeat_at" ON "instances" ("heartbeat_at")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "instances"`);
    await q.query(`DROP TABLE "task_leases"`);
  }
}
