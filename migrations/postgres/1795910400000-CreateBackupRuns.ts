import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateBackupRuns1795910400000 implements MigrationInterface {
  name = 'CreateBackupRuns1795910400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "backup_runs" (
        "id" varchar(36) NOT NULL,
        "trigger" varchar(16) NOT NULL,
        "slot" varchar(32),
        "status" varchar(16) NOT NULL,
        "started_at" bigint NOT NULL,
        "finished_at" bigint,
        "error" varchar(1000),
        "instance_id" varchar(64) NOT NULL,
        "destination" varchar(16) NOT NULL,
        "object_key" varchar(255),
        "engine" varchar(16) NOT NULL,
        "server_version" varchar(100) NOT NULL,
        "schema_version" varchar(100) NOT NULL,
        "encryption" varchar(16) NOT NULL,
        "key_fingerprint" varchar(32) NOT NULL,
        "plain_bytes" bigint,
        "plain_sha256" varchar(64),
        "stored_bytes" bigint,
        "stored_sha256" varchar(64),
        "row_counts" text,
        "verified_at" bigint,
        "verify_status" varchar(16),
        "verify_mode" varchar(16),
        "verify_error" varchar(1000),
        "pruned_at" bigint,
        CONSTRAINT "pk_backup_runs" PRIMARY KEY ("id")
      )`);
    await q.query(`CREATE INDEX "idx_backup_runs_started_at" ON "backup_runs" ("started_at")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "idx_backup_runs_started_at"`);
    await q.query(`DROP TABLE "backup_runs"`);
  }
}
