import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { InstantColumn } from '@kiroku/persistence';
import { Alert } from './alert.entity';

export type NotificationKind = 'firing' | 'reminder' | 'resolved';
export type Channel = 'webhook' | 'email';
export type DeliveryStatus = 'pending' | 'sent' | 'failed';

/**
 * The outbox: a notification is written in the same transaction as the alert
 * change that calls for it, one row per channel, then delivered (and retried
 * with backoff) by whichever instance evaluates next. Whether a message goes
 * out therefore never depends on one process staying alive.
 */
@Entity({ name: 'alert_notifications' })
@Index('idx_alert_notifications_due', ['status', 'nextAttemptAt'])
@Index('idx_alert_notifications_alert_id', ['alertId'])
export class AlertNotification {
  @PrimaryColumn({ type: 'varchar', length: 36, primaryKeyConstraintName: 'pk_alert_notifications' })
  id!: string;

  @Column({ type: 'varchar', length: 36 })
  alertId!: string;

  @ManyToOne(() => Alert, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'alert_id', foreignKeyConstraintName: 'fk_alert_notifications_alert' })
  alert?: Alert;

  @Column({ type: 'varchar', length: 16 })
  kind!: NotificationKind;

  @Column({ type: 'varchar', length: 16 })
  channel!: Channel;

  @Column({ type: 'varchar', length: 16 })
  status!: DeliveryStatus;

  @Column({ type: 'integer' })
  attempts!: number;

  @InstantColumn()
  createdAt!: Date;

  @InstantColumn()
  nextAttemptAt!: Date;

  /** A delivery in progress holds the row until then, so that two instances never send it twice at once. */
  @InstantColumn({ nullable: true })
  claimedUntil!: Date | null;

  @InstantColumn({ nullable: true })
  sentAt!: Date | null;

  @Column({ type: 'varchar', length: 500, nullable: true })
  lastError!: string | null;
}
