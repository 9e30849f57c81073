import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { InstantColumn } from '@kiroku/persistence';

/** A running (or stopped) Kiroku process, as it registered itself. */
@Entity({ name: 'instances' })
@Index('idx_instances_heartbeat_at', ['heartbeatAt'])
export class Instance {
  @PrimaryColumn({ type: 'varchar', length: 128, primaryKeyConstraintName: 'pk_instances' })
  id!: string;

  @Column({ type: 'varchar', length: 255 })
  hostname!: string;

  @Column({ type: 'integer' })
  pid!: number;

  /** host:port — the same for a process restarted in place, unlike the id. */
  @Column({ type: 'varchar', length: 255, default: '' })
  address!: string;

  /** 1 ready, 0 not ready (see notReadyReason), null not known yet: what the instance found at its last heartbeat. */
  @Column({ type: 'integer', nullable: true })
  ready!: number | null;

  @Column({ type: 'varchar', length: 300, nullable: true })
  notReadyReason!: string | null;

  @Column({ type: 'varchar', length: 32 })
  version!: string;

  /** Worker processes serving at the last heartbeat (1 for a process that serves alone). */
  @Column({ type: 'integer', default: 1 })
  workers!: number;

  @Column({ type: 'varchar', length: 16 })
  engine!: string;

  @InstantColumn()
  startedAt!: Date;

  @InstantColumn()
  heartbeatAt!: Date;

  /** Set by a graceful stop; a row with no stop and an old heartbeat is a crashed instance. */
  @InstantColumn({ nullable: true })
  stoppedAt!: Date | null;
}

export type InstanceState = 'live' | 'stopped' | 'missing';

/** An instance not heard from for this long is forgotten (replaced, not down): no longer listed, its alert resolves. */
export const FORGET_INSTANCE_AFTER_MS = 24 * 3_600_000;

/** `stopped` (gracefully), `live` (heartbeats within staleAfterMs) or `missing` (neither). */
export function instanceState(i: Instance, now: number, staleAfterMs: number): InstanceState {
  if (i.stoppedAt) return 'stopped';
  return now - i.heartbeatAt.getTime() <= staleAfterMs ? 'live' : 'missing';
}
