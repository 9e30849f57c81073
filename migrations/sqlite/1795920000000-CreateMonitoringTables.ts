import { MigrationInterface, QueryRunner } from 'typeorm';

/** Monitoring: per-instance figures for the console and the rules, alert occurrences, and the notification outbox. */
export class CreateMonitoringTables1795920000000 implements MigrationInterface {
  name = 'CreateMonitoringTables1795920000000';

  async up(q: QueryRunner): Promise<void> {
    // host:port, stable across restarts: a restarted process resolves the instance-down alert of the one it replaces.
    await q.query(`ALTER TABLE "instances" ADD COLUMN "address" varchar(255) NOT NULL DEFAULT ''`);
    // Readiness as the instance last found it (null: not known yet), for the console.
    await q.query(`ALTER TABLE "instances" ADD COLUMN "not_ready_reason" varchar(300)`);
    await q.query(`ALTER TABLE "instances" ADD COLUMN "ready" integer`);
    await q.query(`CREATE TABLE "metric_samples" (
        "instance_id" varchar(128) NOT NULL,
        "at" bigint NOT NULL,
        "period_ms" integer NOT NULL,
        "requests" integer NOT NULL,
        "errors" integer NOT NULL,
        "latency_p95_us" integer,
        "cpu_permille" integer NOT NULL,
        "rss_bytes" bigint NOT NULL,
        "heap_used_bytes" bigint NOT NULL,
        "loop_lag_p99_us" integer NOT NULL,
        "disk_data_permille" integer,
        "disk_logs_permille" integer,
        "log_emergency" integer NOT NULL,
        CONSTRAINT "pk_metric_samples" PRIMARY KEY ("instance_id", "at")
      )`);
    await q.query(`CREATE INDEX "idx_metric_samples_at" ON "metric_samples" ("at")`);
    await q.query(`CREATE TABLE "alerts" (
        "id" varchar(36) NOT NULL,
        "rule" varchar(32) NOT NULL,
        "subject" varchar(200) NOT NULL,
        "severity" varchar(16) NOT NULL,
        "status" varchar(16) NOT NULL,
        "open_key" varchar(240),
        "summary" varchar(500) NOT NULL,
        "pending_since" bigint NOT NULL,
        "fired_at" bigint,
        "clear_since" bigint,
        "resolved_at" bigint,
        "last_notified_at" bigint,
        CONSTRAINT "pk_alerts" PRIMARY KEY ("id")
      )`);
    await q.query(`CREATE UNIQUE INDEX "uq_alerts_open_key" ON "alerts" ("open_key")`);
    await q.query(`CREATE INDEX "idx_alerts_pending_since" ON "alerts" ("pending_since")`);
    await q.query(`CREATE TABLE "alert_notifications" (
        "id" varchar(36) NOT NULL,
        "alert_id" varchar(36) NOT NULL,
        "kind" varchar(16) NOT NULL,
        "channel" varchar(16) NOT NULL,
        "status" varchar(16) NOT NULL,
        "attempts" integer NOT NULL,
        "created_at" bigint NOT NULL,
        "next_attempt_at" bigint NOT NULL,
        "claimed_until" bigint,
        "sent_at" bigint,
        "last_error" varchar(500),
        CONSTRAINT "pk_alert_notifications" PRIMARY KEY ("id"),
        CONSTRAINT "fk_alert_notifications_alert" FOREIGN KEY ("alert_id") REFERENCES "alerts" ("id") ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX "idx_alert_notifications_due" ON "alert_notifications" ("status", "next_attempt_at")`);
    await q.query(`CREATE INDEX "idx_alert_notifications_alert_id" ON "alert_notifications" ("alert_id")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "idx_alert_notifications_alert_id"`);
    await q.query(`DROP INDEX "idx_alert_notifications_due"`);
    await q.query(`DROP TABLE "alert_notifications"`);
    await q.query(`DROP INDEX "idx_alerts_pending_since"`);
    await q.query(`DROP INDEX "uq_alerts_open_key"`);
    await q.query(`DROP TABLE "alerts"`);
    await q.query(`DROP INDEX "idx_metric_samples_at"`);
    await q.query(`DROP TABLE "metric_samples"`);
    await q.query(`ALTER TABLE "instances" DROP COLUMN "ready"`);
    await q.query(`ALTER TABLE "instances" DROP COLUMN "not_ready_reason"`);
    await q.query(`ALTER TABLE "instances" DROP COLUMN "address"`);
  }
}
