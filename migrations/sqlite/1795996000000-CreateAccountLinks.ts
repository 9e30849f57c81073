import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Invitations and password-reset links an admin issues from /admin/users: single use, with an expiry, stored as the
 * SHA-256 of the link's secret. Listed by kind, newest first; a reset link belongs to its member.
 */
export class CreateAccountLinks1795996000000 implements MigrationInterface {
  name = 'CreateAccountLinks1795996000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "account_links" (
        "id" varchar(36) NOT NULL,
        "kind" varchar(16) NOT NULL,
        "email" varchar(254) NOT NULL,
        "user_id" varchar(36),
        "created_by" varchar(36),
        "token_hash" varchar(64) NOT NULL,
        "created_at" bigint NOT NULL,
        "expires_at" bigint NOT NULL,
        "used_at" bigint,
        "revoked_at" bigint,
        CONSTRAINT "uq_account_links_token_hash" UNIQUE ("token_hash"),
        CONSTRAINT "pk_account_links" PRIMARY KEY ("id"),
        CONSTRAINT "fk_account_links_user" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX "idx_account_links_kind_created" ON "account_links" ("kind", "created_at")`);
    await q.query(`CREATE INDEX "idx_account_links_user_id" ON "account_links" ("user_id")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "account_links"`);
  }
}
