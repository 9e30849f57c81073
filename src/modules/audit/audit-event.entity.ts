import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { InstantColumn } from '@kiroku/persistence';

/** One security event. No foreign keys: the trail outlives the accounts it mentions. */
@Entity({ name: 'audit_events' })
@Index('idx_audit_events_at', ['at'])
@Index('idx_audit_events_user_id', ['userId'])
export class AuditEvent {
  @PrimaryColumn({ type: 'varchar', length: 36, primaryKeyConstraintName: 'pk_audit_events' })
  id!: string;

  @InstantColumn()
  at!: Date;

  /** e.g. login.success, login.failure, login.locked, logout, csrf.refused, role.changed */
  @Column({ type: 'varchar', length: 64 })
  type!: string;

  /** The account the event is about. */
  @Column({ type: 'varchar', length: 36, nullable: true })
  userId!: string | null;

  /** Who did it, when not the user themselves (an admin). */
  @Column({ type: 'varchar', length: 36, nullable: true })
  actorId!: string | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ip!: string | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  requestId!: string | null;

  /** Small JSON object with the event's specifics; never a secret. */
  @Column({ type: 'text' })
  details!: string;
}
