import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { InstantColumn } from '@kiroku/persistence';

export type AlertStatus = 'pending' | 'firing' | 'resolved';
export type Severity = 'warning' | 'critical';

/**
 * One occurrence of an alert: a rule's condition for one subject (an
 * instance, a volume, the cluster) from the moment it first held until it
 * resolved. Resolved rows are the alert history.
 */
@Entity({ name: 'alerts' })
@Index('idx_alerts_pending_since', ['pendingSince'])
export class Alert {
  @PrimaryColumn({ type: 'varchar', length: 36, primaryKeyConstraintName: 'pk_alerts' })
  id!: string;

  @Column({ type: 'varchar', length: 32 })
  rule!: string;

  @Column({ type: 'varchar', length: 200 })
  subject!: string;

  @Column({ type: 'varchar', length: 16 })
  severity!: Severity;

  @Column({ type: 'varchar', length: 16 })
  status!: AlertStatus;

  /**
   * `rule|subject` while pending or firing, null once resolved: a unique
   * index on it allows one open alert per rule and subject on both engines
   * (NULLs never collide), whichever replica evaluates.
   */
  @Index('uq_alerts_open_key', { unique: true })
  @Column({ type: 'varchar', length: 240, nullable: true })
  openKey!: string | null;

  /** What the condition looked like when last evaluated true (for people). */
  @Column({ type: 'varchar', length: 500 })
  summary!: string;

  /** When the condition was first seen. */
  @InstantColumn()
  pendingSince!: Date;

  @InstantColumn({ nullable: true })
  firedAt!: Date | null;

  /** While firing: since when the condition has been clear (null while it holds). */
  @InstantColumn({ nullable: true })
  clearSince!: Date | null;

  @InstantColumn({ nullable: true })
  resolvedAt!: Date | null;

  @InstantColumn({ nullable: true })
  lastNotifiedAt!: Date | null;
}
