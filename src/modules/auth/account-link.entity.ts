import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, Unique } from 'typeorm';
import { InstantColumn } from '@kiroku/persistence';
import { User } from './user.entity';

export const ACCOUNT_LINK_KINDS = ['invite', 'reset'] as const;
export type AccountLinkKind = (typeof ACCOUNT_LINK_KINDS)[number];

/**
 * A single-use link an admin hands out: an invitation to create an account (`invite`) or a password reset for a
 * member (`reset`). The link carries 256 random bits; only their SHA-256 is stored, so a leaked table opens nothing.
 */
@Entity({ name: 'account_links' })
@Unique('uq_account_links_token_hash', ['tokenHash'])
@Index('idx_account_links_kind_created', ['kind', 'createdAt'])
@Index('idx_account_links_user_id', ['userId'])
export class AccountLink {
  @PrimaryColumn({ type: 'varchar', length: 36, primaryKeyConstraintName: 'pk_account_links' })
  id!: string;

  @Column({ type: 'varchar', length: 16 })
  kind!: AccountLinkKind;

  /** The invited address (fixed on the sign-up form), or the member's address when the reset link was issued. */
  @Column({ type: 'varchar', length: 254 })
  email!: string;

  /** The member a reset link is for; the account an invitation created, once used. */
  @Column({ type: 'varchar', length: 36, nullable: true })
  userId!: string | null;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'fk_account_links_user' })
  user?: User;

  /** The admin who issued it (no foreign key: the record outlives nothing it needs). */
  @Column({ type: 'varchar', length: 36, nullable: true })
  createdBy!: string | null;

  @Column({ type: 'varchar', length: 64 })
  tokenHash!: string;

  @InstantColumn()
  createdAt!: Date;

  @InstantColumn()
  expiresAt!: Date;

  @InstantColumn({ nullable: true })
  usedAt!: Date | null;

  @InstantColumn({ nullable: true })
  revokedAt!: Date | null;
}
