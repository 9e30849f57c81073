import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateAccountTables1795902800728 implements MigrationInterface {
  name = 'CreateAccountTables1795902800728';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "users" (
        "id" varchar(36) NOT NULL,
        "email" varchar(254) NOT NULL,
        "display_name" varchar(100) NOT NULL,
        "password_hash" varchar(255) NOT NULL,
        "role" varchar(16) NOT NULL DEFAULT 'user',
        "locale" varchar(8),
        "time_zone" varchar(64) NOT NULL DEFAULT 'UTC',
        "disabled_at" bigint,
        "created_at" bigint NOT NULL,
        "updated_at" bigint NOT NULL,
        "password_changed_at" bigint NOT NULL,
        CONSTRAINT "uq_users_email" UNIQUE ("email"),
        CONSTRAINT "pk_users" PRIMARY KEY ("id")
      )`);
    await q.query(`CREATE TABLE "sessions" (
        "id_hash" varchar(64) NOT NULL,
        "user_id" varchar(36) NOT NULL,
        "csrf_token" varchar(64) NOT NULL,
        "created_at" bigint NOT NULL,
        "last_seen_at" bigint NOT NULL,
        "expires_at" bigint NOT NULL,
        "ip" varchar(64) NOT NULL,
        "user_agent" varchar(255) NOT NULL,
        CONSTRAINT "pk_sessions" PRIMARY KEY ("id_hash"),
        CONSTRAINT "fk_sessions_user" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX "idx_sessions_user_id" ON "sessions" ("user_id")`);
    await q.query(`CREATE INDEX "idx_sessions_expires_at" ON "sessions" ("expires_at")`);
    await q.query(`CREATE INDEX "idx_sessions_last_seen_at" ON "sessions" ("last_seen_at")`);
    await q.query(`CREATE TABLE "api_tokens" (
        "id" varchar(36) NOT NULL,
        "user_id" varchar(36) NOT NULL,
        "name" varchar(100) NOT NULL,
        "prefix" varchar(16) NOT NULL,
        "token_hash" varchar(64) NOT NULL,
        "created_at" bigint NOT NULL,
        "last_used_at" bigint,
        "revoked_at" bigint,
        CONSTRAINT "uq_api_tokens_prefix" UNIQUE ("prefix"),
        CONSTRAINT "pk_api_tokens" PRIMARY KEY ("id"),
        CONSTRAINT "fk_api_tokens_user" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX "idx_api_tokens_user_id" ON "api_tokens" ("user_id")`);
    await q.query(`CREATE TABLE "login_throttles" (
        "key" varchar(128) NOT NULL,
        "failures" integer NOT NULL,
        "locked_until" bigint,
        "updated_at" bigint NOT NULL,
        CONSTRAINT "pk_login_throttles" PRIMARY KEY ("key")
      )`);
    await q.query(`CREATE INDEX "idx_login_throttles_updated_at" ON "login_throttles" ("updated_at")`);
    await q.query(`CREATE TABLE "audit_events" (
        "id" varchar(36) NOT NULL,
        "at" bigint NOT NULL,
        "type" varchar(64) NOT NULL,
        "user_id" varchar(36),
        "actor_id" varchar(36),
        "ip" varchar(64),
        "request_id" varchar(64),
        "details" text NOT NULL,
        CONSTRAINT "pk_audit_events" PRIMARY KEY ("id")
      )`);
    await q.query(`CREATE INDEX "idx_audit_events_at" ON "audit_events" ("at")`);
    await q.query(`CREATE INDEX "idx_audit_events_user_id" ON "audit_events" ("user_id")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "audit_events"`);
    await q.query(`DROP TABLE "login_throttles"`);
    await q.query(`DROP TABLE "api_tokens"`);
    await q.query(`DROP TABLE "sessions"`);
    await q.query(`DROP TABLE "users"`);
  }
}
