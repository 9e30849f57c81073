import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { InstantColumn } from './columns';

/**
 * One claim on one slot of a named task: the primary key (task, slot) makes
 * sure a slot is claimed once, whoever asks and however many times.
 */
@Entity({ name: 'task_leases' })
@Index('idx_task_leases_claimed_at', ['claimedAt'])
export class TaskLease {
  @PrimaryColumn({ type: 'varchar', length: 100, primaryKeyConstraintName: 'pk_task_leases' })
  taskId!: string;

  /** The slot: a scheduled time (ISO, UTC) for periodic tasks, or a fixed name. */
  @PrimaryColumn({ type: 'varchar', length: 64, primaryKeyConstraintName: 'pk_task_leases' })
  slot!: string;

  /** The instance holding (or that last held) the lease. */
  @Column({ type: 'varchar', length: 128 })
  holder!: string;

  /** Random per claim: renew and complete act only on the caller's own claim. */
  @Column({ type: 'varchar', length: 64 })
  token!: string;

  @InstantColumn()
  claimedAt!: Date;

  @InstantColumn()
  expiresAt!: Date;

  @InstantColumn({ nullable: true })
  finishedAt!: Date | null;

  /** succeeded or failed once finished; null while running. */
  @Column({ type: 'varchar', length: 16, nullable: true })
  outcome!: 'succeeded' | 'failed' | null;

  /** 1 for the first claim, +1 for each takeover after an expired lease. */
  @Column({ type: 'integer', default: 1 })
  attempts!: number;
}
