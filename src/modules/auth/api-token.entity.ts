import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, Unique } from 'typeorm';
import { InstantColumn } from '@kiroku/persistence';
import { User } from './user.entity';

/** A personal access token: shown once; stored as a SHA-256 with a visible prefix. */
@Entity({ name: 'api_tokens' })
@Unique('uq_api_tokens_prefix', ['prefix'])
@Index('idx_api_tokens_user_id', ['userId'])
export class ApiToken {
  @PrimaryColumn({ type: 'varchar', length: 36, primaryKeyConstraintName: 'pk_api_tokens' })
  id!: string;

  @Column({ type: 'varchar', length: 36 })
  userId!: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'fk_api_tokens_user' })
  user?: User;

  @Column({ type: 'varchar', length: 100 })
  name!: string;

  /** The visible start of the token, e.g. `krk_3f9a1c2e`: lets people tell tokens apart. */
  @Column({ type: 'varchar', length: 16 })
  prefix!: string;

  @Column({ type: 'varchar', length: 64 })
  tokenHash!: string;

  @InstantColumn()
  createdAt!: Date;

  @InstantColumn({ nullable: true })
  lastUsedAt!: Date | null;

  @InstantColumn({ nullable: true })
  revokedAt!: Date | null;
}
