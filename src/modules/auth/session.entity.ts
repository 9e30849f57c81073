import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { InstantColumn } from '@kiroku/persistence';
import { User } from './user.entity';

/** A signed-in browser. The cookie holds a random id; only its SHA-256 is stored. */
@Entity({ name: 'sessions' })
@Index('idx_sessions_user_id', ['userId'])
@Index('idx_sessions_expires_at', ['expiresAt'])
@Index('idx_sessions_last_seen_at', ['lastSeenAt'])
export class Session {
  @PrimaryColumn({ type: 'varchar', length: 64, primaryKeyConstraintName: 'pk_sessions' })
  idHash!: string;

  @Column({ type: 'varchar', length: 36 })
  userId!: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'fk_sessions_user' })
  user?: User;

  /** The synchronizer token for forms and X-CSRF-Token. */
  @Column({ type: 'varchar', length: 64 })
  csrfToken!: string;

  @InstantColumn()
  createdAt!: Date;

  @InstantColumn()
  lastSeenAt!: Date;

  /** Absolute end of the session, whatever the activity. */
  @InstantColumn()
  expiresAt!: Date;

  @Column({ type: 'varchar', length: 64 })
  ip!: string;

  @Column({ type: 'varchar', length: 255 })
  userAgent!: string;
}
