import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintNumber, epochMs } from '@kiroku/persistence';

/**
 * One instance's figures over one sampling period (METRICS_SAMPLE_INTERVAL):
 * what the console charts and the alert rules read, so that both survive
 * restarts and cover every replica. Ratios are stored in permille and
 * durations in microseconds: integers behave the same on both engines.
 */
@Entity({ name: 'metric_samples' })
@Index('idx_metric_samples_at', ['at'])
export class MetricSample {
  @PrimaryColumn({ type: 'varchar', length: 128, primaryKeyConstraintName: 'pk_metric_samples' })
  instanceId!: string;

  /** End of the period. */
  @PrimaryColumn({ type: 'bigint', transformer: epochMs, primaryKeyConstraintName: 'pk_metric_samples' })
  at!: Date;

  @Column({ type: 'integer' })
  periodMs!: number;

  @Column({ type: 'integer' })
  requests!: number;

  /** Responses with a 5xx status. */
  @Column({ type: 'integer' })
  errors!: number;

  /** 95th percentile of request durations in the period; null without requests. */
  @Column({ type: 'integer', nullable: true })
  latencyP95Us!: number | null;

  /** Process CPU time over wall time, in permille of one core. */
  @Column({ type: 'integer' })
  cpuPermille!: number;

  @Column({ type: 'bigint', transformer: bigintNumber })
  rssBytes!: number;

  @Column({ type: 'bigint', transformer: bigintNumber })
  heapUsedBytes!: number;

  /** 99th percentile of event-loop delay in the period. */
  @Column({ type: 'integer' })
  loopLagP99Us!: number;

  /** Disk use under the SQLite data folder (null on PostgreSQL: the database's disk is not this machine's). */
  @Column({ type: 'integer', nullable: true })
  diskDataPermille!: number | null;

  /** Disk use under LOG_DIR (null without one). */
  @Column({ type: 'integer', nullable: true })
  diskLogsPermille!: number | null;

  /** 1 when the last log sweep found the log disk past ALERT_DISK_CRIT. */
  @Column({ type: 'integer' })
  logEmergency!: number;
}
